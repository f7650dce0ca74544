"""Per-request overhead of `relay stream` over a raw httpx request to the same local relay.

    python benchmarks/overhead.py [--n 200] [--warmup 20] [--words 40] [--check] [--profile]

Starts the built-in local relay in-process (no delays, a fixed answer length) with a temporary
RELAY_HOME, then interleaves, after a warm-up:

* raw, fresh client: a new ``httpx.Client`` per request (as each ``relay stream`` process has), set up
  as cheaply as the URL allows (the CA bundle is loaded only for https, as relay's client does), a
  streamed POST to /v1/chat/completions with the body relay sends (``stream: true`` and
  ``stream_options.include_usage``), every SSE line read to the end;
* raw, reused client: the same request on one long-lived client (for reference);
* relay: what ``relay stream -p mock PROMPT`` runs after start-up, in-process: a fresh ``AppContext``
  and ``relaycli.commands.stream.run`` with stdout sent to a sink -- config load, profile and key
  resolution, client creation, the stream, pricing and the ledger row (ledger open included).

Overhead = median(relay) - median(raw, fresh client). Start-up (interpreter and imports) is not part of
it: ``benchmarks/startup.py`` measures that. Also printed: a breakdown of relay's own per-request steps,
and the one per-process cost the in-process loop cannot see (the built-in price table is read once per
process, so it is warm here after the first request; every real ``relay stream`` process pays it).

Exits 0 whatever the result, unless ``--check`` is given: then 1 when the median overhead misses the
target.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from relaycli import __version__  # noqa: E402
from relaycli.commands.streaming import run as run_stream  # noqa: E402
from relaycli.context import AppContext  # noqa: E402
from relaycli.mock.options import MockOptions  # noqa: E402
from relaycli.mock.server import MockServer  # noqa: E402

TARGET_MS = 15.0
PROMPT = "Say something about benchmarks."
PROFILE = "mock"
MODEL = "gpt-4.1-mini"  # the mock profile's default model
now = time.perf_counter_ns


# -- the measured operations ------------------------------------------------------------------------------


class Raw:
    """The baseline: the request relay sends, made with httpx directly."""

    def __init__(self, base_url: str) -> None:
        self.url = base_url + "/v1/chat/completions"
        self.body = {
            "model": MODEL,
            "messages": [{"role": "user", "content": PROMPT}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        self.headers = {"Accept": "text/event-stream", "User-Agent": f"relay/{__version__}"}
        self.timeout = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)
        # Certificates are only needed for https; loading them costs more than the request itself.
        self.verify = base_url.startswith("https://")
        self.shared = self.new_client()

    def new_client(self) -> httpx.Client:
        return httpx.Client(timeout=self.timeout, follow_redirects=False, verify=self.verify)

    def request(self, client: httpx.Client) -> int:
        """One streamed request, every line read; returns the number of data lines (checked)."""
        data_lines, done = 0, False
        with client.stream("POST", self.url, json=self.body, headers=self.headers) as response:
            if response.status_code != 200:
                raise SystemExit(f"raw request failed: HTTP {response.status_code}")
            for line in response.iter_lines():
                if line.startswith("data:"):
                    data_lines += 1
                    done = line == "data: [DONE]"
        if not done:
            raise SystemExit("raw request: the stream did not end with data: [DONE]")
        return data_lines

    def fresh(self) -> int:
        with self.new_client() as client:
            return self.request(client)

    def reused(self) -> int:
        return self.request(self.shared)

    def close(self) -> None:
        self.shared.close()


class Relay:
    """``relay stream -p mock PROMPT`` after start-up: a fresh AppContext per request."""

    def __init__(self, env: dict[str, str], sink: str) -> None:
        self.env = env
        self.sink = sink
        self.out: TextIO = (
            open(os.devnull, "w", encoding="utf-8") if sink == "devnull" else io.StringIO()  # noqa: SIM115
        )
        self.err = io.StringIO()

    def once(self) -> int:
        if isinstance(self.out, io.StringIO):
            self.out.seek(0)
            self.out.truncate()
        ctx = AppContext(env=self.env, stdin=io.StringIO(""), stdout=self.out, stderr=self.err)
        code = run_stream(ctx, prompt=[PROMPT], profile=PROFILE, model=None)
        if code != 0:
            raise SystemExit(f"relay stream returned {code}")
        return code

    def close(self) -> None:
        self.out.close()


# -- statistics -------------------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank on the sorted values, linear between neighbours)."""
    xs = sorted(values)
    if len(xs) == 1:
        return xs[0]
    k = (len(xs) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def timed(fn: Callable[[], object]) -> float:
    start = now()
    fn()
    return (now() - start) / 1e6


def median_of(fn: Callable[[], object], reps: int) -> float:
    return statistics.median(timed(fn) for _ in range(reps))


# -- the breakdown: relay's own steps, measured one by one ------------------------------------------------


def breakdown(env: dict[str, str], reps: int) -> list[tuple[str, float, str]]:
    from relaycli.core.client import RelayClient
    from relaycli.datatypes import Message
    from relaycli.ledger import Ledger
    from relaycli.pipeline import Ask
    from relaycli.pipeline.recording import build_row
    from relaycli.usage import prices as pricing

    def context() -> tuple[AppContext, object, object]:
        ctx = AppContext(env=env, stdin=io.StringIO(""), stdout=io.StringIO(), stderr=io.StringIO())
        profile = ctx.profile(PROFILE)
        ctx.model(profile, None)
        return ctx, profile, ctx.key(profile)

    ctx, profile, key = context()
    request = Ask(model=MODEL, messages=(Message("user", PROMPT),)).for_profile(profile)  # type: ignore[arg-type]
    client = RelayClient(profile, key)  # type: ignore[arg-type]

    def stream_only() -> object:
        with client.stream(request) as stream:
            for _ in stream:
                pass
            return stream.result()

    result = stream_only()

    def row() -> object:
        return build_row(
            command="stream",
            profile=profile,
            model_requested=MODEL,
            result=result,  # type: ignore[arg-type]
            outcome="ok",
            error=None,
            prices=pricing.PriceTable.load(ctx.settings.prices),
        )

    ledger_path = Path(env["RELAY_HOME"]) / "breakdown" / "ledger.db"  # not the one being counted
    Ledger.open(ledger_path).close()  # created and migrated once, as an existing ledger is
    rows = [row() for _ in range(reps + 1)]  # one more for the warm-up call

    parts: dict[str, list[float]] = {"open": [], "insert": [], "close": []}

    def ledger_write() -> None:
        t0 = now()
        ledger = Ledger.open(ledger_path)
        t1 = now()
        ledger.record(rows.pop())  # type: ignore[arg-type]
        t2 = now()
        ledger.close()
        t3 = now()
        for name, ns in (("open", t1 - t0), ("insert", t2 - t1), ("close", t3 - t2)):
            parts[name].append(ns / 1e6)

    def client_new_close() -> None:
        RelayClient(profile, key).close()  # type: ignore[arg-type]

    def httpx_client_default() -> None:
        httpx.Client().close()

    raw = Raw(env["RELAY_MOCK_URL"])
    raw.close()

    def httpx_client_raw() -> None:
        raw.new_client().close()

    def snapshot() -> None:
        table = pricing.PriceTable.load(ctx.settings.prices)
        table._snapshot = pricing._load_snapshot(pricing.SNAPSHOT_PATH)  # as a new process finds it
        table.lookup(MODEL)

    per_request = "per request, in the relay column"
    raw_fresh = "per request, in the raw-fresh column"
    steps = [
        ("AppContext + config load + profile, model, key", context, per_request),
        (
            "the stream on an open `RelayClient` (send, SSE decode, parse)",
            stream_only,
            "per request; compare with raw reused",
        ),
        ("price lookup + ledger row built (`build_row`)", row, per_request),
        ("ledger open + `BEGIN IMMEDIATE` insert + close", ledger_write, per_request),
        ("`RelayClient(...)` created and closed", client_new_close, per_request),
        ("the raw-fresh column's `httpx.Client(...)` created and closed", httpx_client_raw, raw_fresh),
        ("`httpx.Client()` with defaults (loads the CA bundle)", httpx_client_default, "https profiles only; not here"),
        ("built-in price table read, the model's price found (`prices.json`)", snapshot, "once per process"),
    ]
    out = []
    for label, fn, note in steps:
        fn()  # warm
        out.append((label, median_of(fn, reps), note))
        if fn is ledger_write:
            what = {
                "open": "open (connect, pragmas, schema check; makes -wal, -shm)",
                "insert": "insert (new WAL: fdatasync of the WAL and its directory)",
                "close": "close (last one out: checkpoint, 2 fdatasync, -wal, -shm removed)",
            }
            out.extend(
                (f"  of which {what[name]}", statistics.median(values[1:]), per_request)
                for name, values in parts.items()
            )
    client.close()
    return out


def profile_relay(relay: Relay, runs: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        relay.once()
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(30)
    return text.getvalue()


# -- main -------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200, help="measured requests of each kind (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests of each kind first")
    parser.add_argument("--words", type=int, default=40, help="answer length in tokens (default 40)")
    parser.add_argument(
        "--sink",
        choices=("devnull", "stringio"),
        default="devnull",
        help="where relay's stdout goes (default: a /dev/null text file)",
    )
    parser.add_argument("--breakdown-reps", type=int, default=50, help="repetitions per breakdown step")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the per-step breakdown")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of 50 relay requests")
    parser.add_argument("--check", action="store_true", help="exit 1 when the median overhead misses the target")
    args = parser.parse_args()
    if args.n < 1 or args.breakdown_reps < 1 or args.warmup < 0:
        parser.error("--n and --breakdown-reps must be at least 1, --warmup at least 0")

    wall = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="relay-bench-") as home,
        MockServer(port=0, options=MockOptions(words=args.words), keep_log=False) as server,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
        env.update(RELAY_HOME=home, RELAY_MOCK_URL=server.url)
        raw, relay = Raw(server.url), Relay(env, args.sink)
        kinds: dict[str, Callable[[], object]] = {
            "raw httpx, fresh client": raw.fresh,
            "relay stream (in-process)": relay.once,
            "raw httpx, reused client": raw.reused,
        }
        for _ in range(args.warmup):
            for fn in kinds.values():
                fn()
        times: dict[str, list[float]] = {name: [] for name in kinds}
        order = list(kinds)
        for i in range(args.n):
            # ABC, BCA, CAB, ...: no kind always runs right after the same other one
            for name in order[i % 3 :] + order[: i % 3]:
                times[name].append(timed(kinds[name]))

        from relaycli.ledger import Ledger

        with Ledger.open(Path(home) / "ledger.db") as ledger:
            rows = ledger.count()
        expected_rows = args.warmup + args.n

        steps = [] if args.no_breakdown else breakdown(env, args.breakdown_reps)
        profile_text = profile_relay(relay, 50) if args.profile else ""
        data_lines = raw.reused()
        raw.close()
        relay.close()
    elapsed = time.perf_counter() - wall

    fresh, mine, reused = (times[name] for name in kinds)
    overhead = statistics.median(mine) - statistics.median(fresh)
    verdict = "PASS" if overhead < TARGET_MS else "FAIL"

    print(
        f"relay per-request overhead, {args.n} interleaved requests of each kind after {args.warmup} "
        f"warm-up (Python {platform.python_version()}, httpx {httpx.__version__}, {platform.system()} "
        f"{platform.machine()}, {os.cpu_count()} cores); local relay in-process, {args.words}-token "
        f"answers ({data_lines} SSE data lines), no delays.\n"
    )
    print("| request | median ms | p90 ms | p99 ms | median vs raw fresh |")
    print("|---|---:|---:|---:|---:|")
    base = statistics.median(fresh)
    for name, values in times.items():
        med = statistics.median(values)
        print(f"| {name} | {med:.2f} | {pct(values, 90):.2f} | {pct(values, 99):.2f} | {med - base:+.2f} |")
    if steps:
        print("\nrelay's own steps, median of", args.breakdown_reps, "each, measured apart:\n")
        print("| step | median ms | paid |")
        print("|---|---:|---|")
        for label, value, note in steps:
            print(f"| {label} | {value:.2f} | {note} |")
        snapshot_ms = steps[-1][1]
        print(
            f"\na fresh `relay stream` process also reads the price table: overhead + that = "
            f"{overhead + snapshot_ms:.2f} ms"
        )
    rows_ok = "ok" if rows == expected_rows else "MISMATCH"
    print(f"\nledger rows: {rows} (expected {expected_rows}, one per relay request): {rows_ok}")
    print(f"wall time: {elapsed:.1f} s")
    if profile_text:
        print("\ncProfile of 50 relay requests (cumulative):\n")
        print(profile_text)
    print(f"overhead median: {overhead:.2f} ms (target < {TARGET_MS:g} ms): {verdict}")
    if rows != expected_rows:
        print(f"error: the ledger holds {rows} rows, expected {expected_rows}", file=sys.stderr)
        return 1
    return 1 if args.check and verdict == "FAIL" else 0


if __name__ == "__main__":
    sys.exit(main())
