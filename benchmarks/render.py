"""Rendering cost of `relay chat`'s streaming markdown: does it stay flat as the answer grows?

    python benchmarks/render.py [--tokens 20000] [--width 100] [--height 40] [--frame-interval 0.05]
                                [--window 1000] [--check]

Builds a deterministic markdown answer of about ``--tokens`` tokens (headings, paragraphs with inline
markup, nested lists, tables and fenced code in several languages), cuts it into small chunks the way a
stream delivers them (one token, about 4 characters, per chunk) and feeds them one by one to
``relaycli.chat.markdown_stream.MarkdownStream`` drawing to a virtual terminal (a rich ``Console`` of
``--width`` x ``--height`` writing to memory, colours on). It times every ``feed`` call and prints the time
for the first and the last ``--window`` chunks, their ratio, and the total. The run passes when the
ratio is under 2 (the cost per chunk does not grow with the answer) and the total under 2 s.

``--frame-interval`` is the renderer's limit on tail-only redraws (the default, 0.05 s, is what
`relay chat` uses); ``--frame-interval 0`` redraws the tail on every chunk, the worst case. ``--naive``
shows, for comparison, the quadratic alternative: the whole answer re-rendered on every chunk. Exit
status 1 with ``--check`` when the run fails.
"""

from __future__ import annotations

import argparse
import io
import platform
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORDS = (
    "relay",
    "stream",
    "token",
    "latency",
    "budget",
    "profile",
    "model",
    "answer",
    "ledger",
    "request",
    "window",
    "cache",
    "price",
    "header",
    "event",
    "parser",
    "buffer",
    "socket",
    "retry",
    "timeout",
    "server",
    "client",
    "terminal",
    "render",
    "chunk",
    "line",
)
CODE = {
    "python": [
        "def {w}(items: list[int]) -> int:",
        '    """Sum the {w} items."""',
        "    total = 0",
        "    for item in items:  # {w}",
        "        total += item * {n}",
        "    return total",
        "",
    ],
    "rust": [
        "fn {w}(items: &[u64]) -> u64 {{",
        "    // {w} with {n}",
        "    items.iter().map(|x| x * {n}).sum()",
        "}}",
        "",
    ],
    "bash": ["for f in *.{w}; do", '  echo "$f" | wc -c  # {n}', "done", ""],
}


def build_answer(tokens: int, seed: int = 7) -> str:
    """A markdown answer of about ``tokens`` tokens (a token being ~4 characters)."""
    rng = random.Random(seed)
    parts: list[str] = []
    size = 0

    def words(n: int) -> str:
        out = []
        for i in range(n):
            word = rng.choice(WORDS)
            roll = rng.random()
            if roll < 0.04:
                word = f"**{word}**"
            elif roll < 0.07:
                word = f"`{word}()`"
            elif roll < 0.09:
                word = f"*{word}*"
            out.append(word if i else word.capitalize())
        return " ".join(out) + "."

    section = 0
    while size < tokens * 4:
        section += 1
        kind = section % 5
        if kind == 1:
            block = f"## {section}. {words(4)}\n\n{words(rng.randint(40, 120))}\n"
        elif kind == 2:
            items = [f"- {words(rng.randint(6, 20))}" for _ in range(rng.randint(3, 6))]
            items.insert(2, f"  - {words(8)}")
            block = "\n".join(items) + "\n"
        elif kind == 3:
            lang = rng.choice(sorted(CODE))
            body = []
            for _ in range(rng.randint(2, 5)):
                body.extend(line.format(w=rng.choice(WORDS), n=rng.randint(1, 99)) for line in CODE[lang])
            block = f"```{lang}\n" + "\n".join(body).rstrip() + "\n```\n"
        elif kind == 4:
            rows = [f"| {rng.choice(WORDS)} | {rng.randint(1, 9999)} | {words(3)} |" for _ in range(rng.randint(3, 8))]
            block = "| name | value | note |\n|---|---:|---|\n" + "\n".join(rows) + "\n"
        else:
            block = f"{words(rng.randint(60, 160))}\n\n> {words(12)}\n"
        parts.append(block + "\n")
        size += len(block) + 1
    return "".join(parts)


def chunks(text: str, seed: int = 11) -> list[str]:
    """Cut ``text`` into stream-sized pieces: 1 to 7 characters, about 4 on average."""
    rng = random.Random(seed)
    out, i = [], 0
    while i < len(text):
        step = rng.randint(1, 7)
        out.append(text[i : i + step])
        i += step
    return out


class NaiveStream:
    """For comparison: re-render the whole answer on every chunk (what a live region around a
    ``Markdown`` of the full text does). Quadratic: use it at a small ``--tokens``."""

    def __init__(self, console: object) -> None:
        from rich.markdown import Markdown

        self.console, self.markdown, self.parts = console, Markdown, []
        self.redraws = self.committed_rows = 0

    def feed(self, text: str) -> None:
        self.parts.append(text)
        lines = self.console.render_lines(self.markdown("".join(self.parts)), pad=False)  # type: ignore[attr-defined]
        self.console.file.write("\x1b[2K\n" * len(lines))  # type: ignore[attr-defined]
        self.redraws += 1

    def finish(self) -> None:
        pass


def run(
    tokens: int,
    width: int,
    height: int,
    frame_interval: float,
    window: int,
    naive: bool = False,
    arrival_rate: float = 0.0,
) -> dict[str, float]:
    sys.path.insert(0, str(ROOT))
    from rich.console import Console

    from relaycli.chat.markdown_stream import MarkdownStream

    answer = build_answer(tokens)
    pieces = chunks(answer)
    console = Console(
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        width=width,
        height=height,
        legacy_windows=False,
    )
    # With --arrival-rate R the renderer's clock says chunk k arrived at k / R seconds (as a model streaming
    # R chunks a second would deliver them), so its frame limit redraws as often as it would in use;
    # the time measured is still the real time spent rendering.
    arrived = [0.0]
    renderer_clock = (lambda: arrived[0]) if arrival_rate > 0 else time.monotonic
    stream = (
        NaiveStream(console) if naive else MarkdownStream(console, frame_interval=frame_interval, clock=renderer_clock)
    )
    times = []
    clock = time.perf_counter
    started = clock()
    for piece in pieces:
        if arrival_rate > 0:
            arrived[0] += 1 / arrival_rate
        t0 = clock()
        stream.feed(piece)
        times.append(clock() - t0)
    t0 = clock()
    stream.finish()
    finish = clock() - t0
    total = clock() - started
    window = min(window, len(times) // 2)
    first, last = sum(times[:window]), sum(times[-window:])
    return {
        "chars": len(answer),
        "chunks": len(pieces),
        "first": first,
        "last": last,
        "ratio": last / first if first else float("inf"),
        "total": total,
        "finish": finish,
        "redraws": stream.redraws,
        "rows": stream.committed_rows,
        "output": len(console.file.getvalue()),
        "window": window,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--width", type=int, default=100)
    parser.add_argument("--height", type=int, default=40)
    parser.add_argument("--frame-interval", type=float, default=0.05)
    parser.add_argument("--window", type=int, default=1000)
    parser.add_argument(
        "--arrival-rate",
        type=float,
        default=0.0,
        help="chunks per second the renderer's clock sees (e.g. 100, a fast model); 0 = as fast as they can be fed",
    )
    parser.add_argument(
        "--naive",
        action="store_true",
        help="for comparison, re-render the whole answer on every chunk (try --tokens 2000)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 unless ratio < 2 and total < 2 s")
    args = parser.parse_args()
    r = run(
        args.tokens,
        args.width,
        args.height,
        args.frame_interval,
        args.window,
        naive=args.naive,
        arrival_rate=args.arrival_rate,
    )
    mode = "whole answer re-rendered per chunk (naive)" if args.naive else f"frame interval {args.frame_interval:g} s"
    if args.arrival_rate > 0:
        mode += f", chunks arriving at {args.arrival_rate:g}/s on the renderer's clock"
    print(
        f"python {platform.python_version()} on {platform.machine()}, {args.width}x{args.height} virtual "
        f"terminal, {mode}"
    )
    print(
        f"answer: {r['chars']:,} characters (~{r['chars'] // 4:,} tokens) in {r['chunks']:,} chunks; "
        f"{r['rows']:,} rows committed, {r['redraws']:,} draws, {r['output']:,} bytes written"
    )
    print(f"first {r['window']:,} chunks: {r['first'] * 1000:.1f} ms")
    print(f"last  {r['window']:,} chunks: {r['last'] * 1000:.1f} ms")
    ok = r["ratio"] < 2 and r["total"] < 2
    print(f"ratio last/first: {r['ratio']:.2f} (target < 2)")
    print(f"total: {r['total']:.2f} s (target < 2 s), finish {r['finish'] * 1000:.1f} ms: {'PASS' if ok else 'FAIL'}")
    if args.check and not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
