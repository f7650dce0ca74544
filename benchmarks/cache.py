"""Speed of the disk response cache (``RELAY_HOME/cache/cache.db``) in `relay stream`.

    python benchmarks/cache.py [--runs 30] [--n 200] [--entries 100000] [--check]

Three targets, each printed with PASS or FAIL:

(a) **A hit costs about what `relay --help` does.** Whole processes, timed as ``startup.py`` times them
    (its helpers are imported: bytecode cached in a private directory, a warm-up run first), but
    interleaved: every round runs each command once, the order rotated each round, ``--runs`` rounds;
    medians. Rows: ``python -c pass``, ``relay --help``, and ``relay stream -p mock PROMPT`` answered from
    the cache, with no config file (the built-in ``mock`` profile, as ``startup.py`` runs it) and with the
    starter file ``relay config init`` writes (which a hit then reads and checks). Target: both hits
    within 1.3x of ``--help``. The hit also runs once under ``python -X importtime``, which must list no
    ``httpx``, and the local relay's request log must not grow while the hits run.
(b) **A large cache does not slow a hit.** In-process, as ``overhead.py`` measures: each request is what a
    ``relay stream -p mock PROMPT`` process runs after start-up (a fresh ``AppContext``, so ``cache.db``
    and ``ledger.db`` are opened, used and closed each time), answered from a cache holding only its entry
    ("empty") and from one holding ``--entries`` more. The two kinds alternate, ``--n`` of each after a
    warm-up; the figure is the difference of their medians: key, lookup, replay, the ledger row and the
    hit's bookkeeping in ``cache.db``. The big cache is built in one transaction by copying the real
    entry under new keys (SHA-256 of distinct texts, so they spread over the key index as real keys do,
    with ages spread over six days, inside the default week-long lifetime). Target: under 5 ms.
(c) **A miss costs little over not using the cache.** In-process as in (b), against the local relay in
    its own process with no delays: ``--n`` requests each of a miss and of ``--no-cache``, alternating.
    Every request has a prompt of its own, so each miss is what a miss is: a lookup that finds nothing,
    the request, then the answer stored (``--refresh`` would skip the lookup). The ``--no-cache``
    requests get prompts of the same length. Target: median(miss) - median(--no-cache) under 2 ms.

The local relay runs as ``python -m relaycli.mock`` (zero delays, 40-token answers) and logs every request,
so the script checks that the hits sent nothing and that every miss was sent. Timings on a shared machine
are noisy: read the medians, and the p90 beside them. Exits 0 whatever the result, unless ``--check``:
then 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from startup import interleaved_ms, relay_command, timing_env

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from relaycli.cache.store import CacheStore  # noqa: E402
from relaycli.commands.streaming import run as run_stream  # noqa: E402
from relaycli.context import AppContext  # noqa: E402
from relaycli.pipeline.request import CacheUse  # noqa: E402

HIT_RATIO = 1.3  # (a): hit / --help
LARGE_MS = 5.0  # (b): hit on the large cache - hit on the empty one
MISS_MS = 2.0  # (c): miss - --no-cache
PROMPT = "What does a response cache keep?"
now = time.perf_counter_ns


# -- the local relay, in its own process ------------------------------------------------------------------


class LocalRelay:
    """``python -m relaycli.mock`` with no delays, logging each request as one line of ``log``."""

    def __init__(self, log: Path, env: dict[str, str]) -> None:
        self.log = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "relaycli.mock", "--port", "0", "--log", str(log)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.stop()
            raise SystemExit("the local relay did not start")

    def requests(self) -> int:
        time.sleep(0.05)  # a record is written when its response ends
        return len(self.log.read_text().splitlines()) if self.log.exists() else 0

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


# -- in-process requests ----------------------------------------------------------------------------------


def in_process_env(home: Path, mock_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env.update(RELAY_HOME=str(home), RELAY_MOCK_URL=mock_url)
    return env


class Stream:
    """``relay stream -p mock PROMPT`` after start-up, in this process: a fresh AppContext each time."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.out: TextIO = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def once(self, prompt: str, cache: CacheUse) -> None:
        err = io.StringIO()
        ctx = AppContext(env=self.env, stdin=io.StringIO(""), stdout=self.out, stderr=err)
        code = run_stream(ctx, prompt=[prompt], profile="mock", model=None, cache=cache)
        if code != 0:
            raise SystemExit(f"relay stream returned {code}: {err.getvalue()[-400:]}")

    def close(self) -> None:
        self.out.close()


CACHED = CacheUse.from_flags()
NO_CACHE = CacheUse.from_flags(no_cache=True)


def timed(fn: Callable[[], object]) -> float:
    start = now()
    fn()
    return (now() - start) / 1e6


def alternate(kinds: dict[str, Callable[[int], object]], n: int, warmup: int) -> dict[str, list[float]]:
    """``n`` timed calls of each kind after ``warmup`` untimed ones, alternating, the order swapped every
    round; each call gets its round number."""
    for i in range(warmup):
        for fn in kinds.values():
            fn(-1 - i)
    names = list(kinds)
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(n):
        for name in names if i % 2 == 0 else names[::-1]:
            times[name].append(timed(lambda name=name, i=i: kinds[name](i)))  # type: ignore[misc]
    return times


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


# -- the large cache --------------------------------------------------------------------------------------


def fill(path: Path, entries: int) -> float:
    """Add ``entries`` copies of the one entry in ``path`` under new keys, in one transaction; seconds."""
    start = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        ((template,),) = conn.execute("SELECT key FROM entries").fetchall()
        columns = [row[1] for row in conn.execute("PRAGMA table_info(entries)")]
        kept = [c for c in columns if c not in ("key", "created", "last_used")]
        sql = (
            f"INSERT INTO entries (key, created, last_used, {', '.join(kept)})"
            f" SELECT ?, created - ?, last_used - ?, {', '.join(kept)} FROM entries WHERE key = ?"
        )
        six_days = 6 * 86_400

        def rows() -> Iterator[tuple[str, float, float, str]]:
            for i in range(entries):
                age = six_days * (i + 1) / entries
                yield hashlib.sha256(f"filler {i}".encode()).hexdigest(), age, age, template

        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, rows())
        conn.execute("COMMIT")
    finally:
        conn.close()
    return time.perf_counter() - start


def entry_count(path: Path) -> int:
    store = CacheStore.open(path, create=False)
    try:
        return store.stats().entries
    finally:
        store.close()


# -- the measurements -------------------------------------------------------------------------------------


@contextmanager
def homes(*names: str) -> Iterator[dict[str, Path]]:
    with tempfile.TemporaryDirectory(prefix="relay-cache-bench-") as root:
        paths = {name: Path(root) / name for name in names}
        for path in paths.values():
            path.mkdir()
        yield paths


def whole_process(relay: LocalRelay, home: Path, pycache: str, runs: int) -> tuple[dict[str, list[float]], bool]:
    """(a): medians of whole processes; whether the hit imported httpx."""
    env = timing_env(str(home / "bare"), pycache, RELAY_MOCK_URL=relay.url)
    config_env = timing_env(str(home / "configured"), pycache, RELAY_MOCK_URL=relay.url)
    relay_cmd = relay_command()
    hit = [*relay_cmd, "stream", "-p", "mock", PROMPT]
    subprocess.run([*relay_cmd, "config", "init"], env=config_env, capture_output=True, check=True)
    for primed in (env, config_env):  # the miss that stores the answer
        subprocess.run(hit, env=primed, capture_output=True, check=True)
    importtime = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "relaycli", "stream", "-p", "mock", PROMPT],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    httpx = any(line.rsplit("|", 1)[-1].strip().split(".")[0] == "httpx" for line in importtime.stderr.splitlines())
    before = relay.requests()
    with_config = "relay stream (hit, starter config.toml)"
    times = interleaved_ms(
        {
            "python -c pass": [sys.executable, "-c", "pass"],
            "relay --help": [*relay_cmd, "--help"],
            "relay stream (hit, no config file)": hit,
            with_config: hit,
        },
        runs,
        env,
        envs={with_config: config_env},
    )
    if relay.requests() != before:
        raise SystemExit("a cache hit sent a request to the local relay")
    return times, httpx


def large_cache(
    relay: LocalRelay, paths: dict[str, Path], entries: int, n: int
) -> tuple[dict[str, list[float]], float]:
    """(b): in-process hits on a cache of one entry and on one of ``entries`` + 1."""
    streams = {name: Stream(in_process_env(paths[name], relay.url)) for name in ("empty", "large")}
    for stream in streams.values():
        stream.once(PROMPT, CACHED)  # the miss that stores the entry
    seconds = fill(paths["large"] / "cache" / "cache.db", entries)
    count = entry_count(paths["large"] / "cache" / "cache.db")
    if count != entries + 1:
        raise SystemExit(f"the large cache holds {count} entries, expected {entries + 1}")
    before = relay.requests()
    kinds: dict[str, Callable[[int], object]] = {
        "hit, cache of 1 entry": lambda i: streams["empty"].once(PROMPT, CACHED),
        f"hit, cache of {count:,} entries": lambda i: streams["large"].once(PROMPT, CACHED),
    }
    times = alternate(kinds, n, warmup=10)
    if relay.requests() != before:
        raise SystemExit("a cache hit sent a request to the local relay")
    for stream in streams.values():
        stream.close()
    return times, seconds


def miss_cost(relay: LocalRelay, home: Path, n: int) -> dict[str, list[float]]:
    """(c): in-process misses (a prompt of their own each) and --no-cache requests, alternating."""
    stream = Stream(in_process_env(home, relay.url))
    before = relay.requests()
    kinds: dict[str, Callable[[int], object]] = {
        "miss (lookup, request, store)": lambda i: stream.once(f"{PROMPT} m{i:+06d}", CACHED),
        "--no-cache (request only)": lambda i: stream.once(f"{PROMPT} n{i:+06d}", NO_CACHE),
    }
    warmup = 10
    times = alternate(kinds, n, warmup=warmup)
    sent = relay.requests() - before
    if sent != 2 * (n + warmup):
        raise SystemExit(f"the local relay saw {sent} requests, expected {2 * (n + warmup)}: not every miss was one")
    stored = entry_count(home / "cache" / "cache.db")
    if stored != n + warmup:
        raise SystemExit(f"the cache holds {stored} entries, expected {n + warmup} (one per miss)")
    stream.close()
    return times


# -- main -------------------------------------------------------------------------------------------------


def table(times: dict[str, list[float]], base: str, digits: int) -> list[str]:
    lines = [f"| request | median ms | p90 ms | vs {base} |", "|---|---:|---:|---:|"]
    reference = statistics.median(times[base])
    for name, values in times.items():
        med = statistics.median(values)
        lines.append(f"| {name} | {med:.{digits}f} | {pct(values, 90):.{digits}f} | {med - reference:+.{digits}f} |")
    return lines


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30, help="(a): whole-process rounds (default 30)")
    parser.add_argument("--n", type=int, default=200, help="(b), (c): in-process requests of each kind (default 200)")
    parser.add_argument("--entries", type=int, default=100_000, help="(b): entries added to the large cache")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    if args.runs < 2 or args.n < 2 or args.entries < 1:
        parser.error("--runs and --n must be at least 2, --entries at least 1")

    wall = time.perf_counter()
    with homes("a", "empty", "large", "miss", "pycache", "relay") as paths:
        (paths["a"] / "bare").mkdir()
        (paths["a"] / "configured").mkdir()
        relay = LocalRelay(paths["relay"] / "requests.jsonl", timing_env(str(paths["relay"]), str(paths["pycache"])))
        try:
            processes, httpx = whole_process(relay, paths["a"], str(paths["pycache"]), args.runs)
            large, fill_s = large_cache(relay, paths, args.entries, args.n)
            miss = miss_cost(relay, paths["miss"], args.n)
            size_mb = (paths["large"] / "cache" / "cache.db").stat().st_size / 1e6
        finally:
            relay.stop()
    elapsed = time.perf_counter() - wall

    med = {name: statistics.median(values) for name, values in {**processes, **large, **miss}.items()}
    ratio = med["relay stream (hit, no config file)"] / med["relay --help"]
    ratio_config = med["relay stream (hit, starter config.toml)"] / med["relay --help"]
    empty, full = (statistics.median(values) for values in large.values())
    added_large = full - empty
    miss_median, no_cache_median = (statistics.median(values) for values in miss.values())
    added_miss = miss_median - no_cache_median
    checks = {
        "a": max(ratio, ratio_config) <= HIT_RATIO and not httpx,
        "b": added_large < LARGE_MS,
        "c": added_miss < MISS_MS,
    }

    print(
        f"relay response cache (Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores); local relay in its own process, "
        "no delays, 40-token answers.\n"
    )
    print(f"(a) whole processes, median of {args.runs} interleaved rounds:\n")
    print("\n".join(table(processes, "relay --help", 1)))
    print(
        f"\n(b) in-process, {args.n} alternating hits of each kind; the large cache: "
        f"{args.entries + 1:,} entries, {size_mb:.0f} MB, filled in {fill_s:.1f} s:\n"
    )
    print("\n".join(table(large, next(iter(large)), 2)))
    print(f"\n(c) in-process, {args.n} alternating requests of each kind, a prompt of its own each:\n")
    print("\n".join(table(miss, "--no-cache (request only)", 2)))
    print(f"\nwall time: {elapsed:.0f} s")
    print(
        f"(a) hit / --help: {ratio:.2f}x, {ratio_config:.2f}x with a config file, httpx "
        f"{'imported' if httpx else 'not imported'} (target <= {HIT_RATIO:g}x, no httpx): {verdict(checks['a'])}"
    )
    print(
        f"(b) a {args.entries:,}-entry cache adds: {added_large:+.2f} ms per hit (target < {LARGE_MS:g} ms): "
        + verdict(checks["b"])
    )
    print(f"(c) a miss adds: {added_miss:+.2f} ms over --no-cache (target < {MISS_MS:g} ms): {verdict(checks['c'])}")
    return 1 if args.check and not all(checks.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
