"""The streaming markdown renderer: what ends up on the screen, whatever the chunking, and work per chunk
that does not grow with the answer."""

from __future__ import annotations

import io
import random
import sys
from pathlib import Path

import pytest
from rich.console import Console

from relaycli.chat.markdown_stream import MarkdownStream

from .vt import Screen

ROOT = Path(__file__).resolve().parents[2]
WIDTH = 80

ANSWER = """# Streaming

Some **bold** text and `inline code`, then a list:

- first item
- second item
  - nested item
1. one
2. two

```python
def hello(name: str) -> str:
    return f"hello {name}"
```

| name | value |
|------|-------|
| a    | 1     |

> quoted

Last line."""


def console(height: int = 30) -> Console:
    return Console(
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        width=WIDTH,
        height=height,
        legacy_windows=False,
    )


def stream(text: str, sizes: list[int], *, frame_interval: float = 0.0, height: int = 30) -> tuple[str, MarkdownStream]:
    out = console(height)
    renderer = MarkdownStream(out, frame_interval=frame_interval)
    i = 0
    for size in sizes:
        renderer.feed(text[i : i + size])
        i += size
    renderer.feed(text[i:])
    renderer.finish()
    return out.file.getvalue(), renderer  # type: ignore[attr-defined]


def screen(raw: str) -> list[str]:
    return Screen(WIDTH).feed(raw).lines()


def test_the_answer_is_rendered_as_markdown() -> None:
    raw, _ = stream(ANSWER, [])
    lines = screen(raw)
    text = "\n".join(lines)
    assert lines[0].strip() == "Streaming"  # h1, centred, no '#'
    assert "Some bold text and inline code, then a list:" in text
    assert " • first item" in lines and "   • nested item" in lines
    assert "def hello(name: str) -> str:" in text and "```" not in text
    assert "──" in text and "▌ quoted" in text and lines[-1] == "Last line."
    code_row = next(line for line in raw.split("\n") if "def" in line and "hello" in line)
    assert "\x1b[38;2;" in code_row  # highlighted


@pytest.mark.parametrize("seed", range(6))
def test_streamed_in_any_chunks_the_screen_ends_up_the_same(seed: int) -> None:
    rng = random.Random(seed)
    sizes = [rng.randint(1, 12) for _ in range(len(ANSWER))]
    whole, _ = stream(ANSWER, [])
    chunked, renderer = stream(ANSWER, sizes)
    assert renderer.redraws > 50  # the tail really was redrawn along the way
    assert screen(chunked) == screen(whole)


def test_a_tail_taller_than_the_terminal_is_cut_to_fit_and_committed_whole() -> None:
    text = " ".join(f"word{n}" for n in range(600)) + "\n\nafter"
    raw, _ = stream(text, [7] * (len(text) // 7), height=10)
    lines = screen(raw)
    assert " ".join(lines[:-2]).split() == [f"word{n}" for n in range(600)] and lines[-1] == "after"


def test_interrupted_mid_code_block_keeps_what_arrived() -> None:
    out = console()
    renderer = MarkdownStream(out, frame_interval=0)
    for piece in ("Intro\n\n```js\nconst a = 1;\ncon", "st b"):
        renderer.feed(piece)
    renderer.finish()
    lines = screen(out.file.getvalue())  # type: ignore[attr-defined]
    assert lines[0] == "Intro" and "const a = 1;" in lines[3] and "const b" in lines[4]


def test_tail_redraws_wait_for_the_next_frame_of_the_injected_clock() -> None:
    now = [0.0]
    out = console()
    renderer = MarkdownStream(out, clock=lambda: now[0], frame_interval=0.05)
    renderer.feed("one")
    assert renderer.redraws == 1
    renderer.feed(" two")
    renderer.feed(" three")
    assert renderer.redraws == 1  # same frame: not drawn yet
    now[0] = 0.06
    renderer.feed(" four")
    assert renderer.redraws == 2 and screen(out.file.getvalue()) == ["one two three four"]  # type: ignore[attr-defined]
    renderer.feed(" five\nsix")  # a finished line is drawn at once
    assert renderer.redraws == 3
    renderer.finish()
    assert screen(out.file.getvalue()) == ["one two three four five", "six"]  # type: ignore[attr-defined]


def _homogeneous(paragraphs: int) -> str:
    rng = random.Random(3)
    words = ["alpha", "**beta**", "gamma", "`delta`", "epsilon"]
    parts = []
    for n in range(paragraphs):
        parts.append(" ".join(rng.choice(words) for _ in range(60)))
        parts.append(f"- item {n} with *emphasis*")
        parts.append("```python\n" + "\n".join(f"x{n}_{k} = {k}" for k in range(6)) + "\n```")
    return "\n\n".join(parts)


def test_output_per_chunk_does_not_grow_with_the_answer() -> None:
    """Every chunk redraws (frame_interval 0): what is written for the last chunks is no more than for
    the first ones, so nothing already committed is rendered again."""
    text = _homogeneous(16)
    out = console()
    renderer = MarkdownStream(out, frame_interval=0)
    written = []
    for i in range(0, len(text), 4):
        before = out.file.tell()  # type: ignore[attr-defined]
        renderer.feed(text[i : i + 4])
        written.append(out.file.tell() - before)  # type: ignore[attr-defined]
    window = len(written) // 5
    first, last = sum(written[:window]), sum(written[-window:])
    assert last < 1.5 * first
    assert max(written) < 6_000  # a chunk never writes more than a bounded tail


def test_render_time_is_linear_at_small_scale() -> None:
    """benchmarks/render.py at a small scale, redrawing on every chunk (the worst case)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from render import run  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    ratios = []
    for _ in range(3):  # the best of three, against a noisy machine
        result = run(1500, 100, 40, 0.0, 300)
        ratios.append(result["ratio"])
        if result["ratio"] < 2:
            break
    assert min(ratios) < 2, ratios


def test_notes_written_while_an_answer_streams_go_above_its_tail() -> None:
    from relaycli.chat.render import interjecting

    out = console()
    renderer = MarkdownStream(out, frame_interval=0)
    renderer.feed("First line.\nSecond, unfinish")
    interjecting(renderer).warn("budget 80% used")
    renderer.feed("ed.")
    renderer.finish()
    assert screen(out.file.getvalue()) == [  # type: ignore[attr-defined]
        "First line.",
        "relay: warning: budget 80% used",
        "Second, unfinished.",
    ]


def test_a_long_code_block_keeps_every_line_in_place() -> None:
    """Committed in batches with lexer context (blank lines included), every line shows once, in order."""
    code = [("" if n % 8 == 0 else f"    value_{n} = compute({n})  # step {n}") for n in range(60)]
    text = "```python\n" + "\n".join(code) + "\n```\nafter\n"
    raw, _ = stream(text, [3] * (len(text) // 3))
    lines = screen(raw)
    assert [line.strip() for line in lines[1:61]] == [c.strip() for c in code]
    assert lines[-1] == "after"
