"""`relay batch` against the built-in local relay: wall time against the ideal, CPU per request, memory.

    python benchmarks/batch.py [--n 1000] [--concurrency 32] [--answer-ms 200] [--big 10000]
                               [--pacing burst|tokens] [--no-memory] [--check]

The local relay runs in a process of its own (``python -m relaycli.mock``) so that its work is not
counted; each ``relay batch`` runs as a real process with a fresh ``RELAY_HOME`` (an empty ledger and
response cache, which stay on, as by default) and distinct prompts, and its CPU time (user + system) and
peak memory (max RSS) are read from ``os.wait4`` on that process alone.

1. Speed: ``--n`` prompts at ``-c --concurrency``, each answered in ``--answer-ms``: the whole answer at
   once after that long (``--pacing burst``, the default: ``ttft``), or its 40 tokens spread over it
   (``--pacing tokens``: ``ttft`` plus a ``token_delay`` per token, 40 reads per answer). Targets: within
   1.15x of the ideal (n / c x answer time) and under 2 ms of CPU per request, start-up included. The run
   is made ``--repeat`` times (default 3, each with a fresh ``RELAY_HOME``) and the one with the median CPU
   time is reported, with the range: on a shared VM one run's CPU time moves by a fifth from run to run.
2. Memory: ``--n`` and then ``--big`` prompts with no delay: the peak RSS of the larger run stays within
   10 % of the smaller one's (``relay batch`` keeps a bounded window of lines, never the whole input).

Prints one line per figure and PASS/FAIL; exits 0 either way unless ``--check`` (then 1 on any FAIL).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYCACHE = tempfile.mkdtemp(prefix="relay-batch-pycache-")
WORDS = 40


@dataclass(frozen=True)
class Run:
    n: int
    wall_s: float
    cpu_s: float
    max_rss_mb: float
    lines: int
    ok: int
    code: int


def start_relay(directives: str) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "relaycli.mock", "--port", "0", "--set", directives],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


def run_batch(n: int, concurrency: int, url: str, work: Path) -> Run:
    home = Path(tempfile.mkdtemp(prefix="home-", dir=work))
    prompts, out = work / f"prompts-{n}.txt", home / "out.jsonl"
    prompts.write_text("".join(f"benchmark prompt number {i}\n" for i in range(n)))
    env = _env() | {"RELAY_HOME": str(home), "RELAY_MOCK_URL": url}
    argv = [
        sys.executable,
        "-m",
        "relaycli",
        "batch",
        "-p",
        "mock",
        str(prompts),
        "-c",
        str(concurrency),
        "-O",
        str(out),
    ]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    lines = out.read_text().splitlines()
    ok = sum('"error": null' in line for line in lines)
    if proc.returncode != 0 or ok != n:
        print(f"relay batch exited {proc.returncode}, {ok} of {n} lines ok: {err.strip()}", file=sys.stderr)
    rss_mb = usage.ru_maxrss / 1024  # KiB on Linux
    return Run(n, wall, usage.ru_utime + usage.ru_stime, rss_mb, len(lines), ok, proc.returncode)


def _env() -> dict[str, str]:
    """No inherited RELAY_ settings; bytecode cached in a private directory (filled by an unmeasured first
    run), so the CPU time is an installed relay's whatever ``PYTHONDONTWRITEBYTECODE`` says."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONPYCACHEPREFIX"] = PYCACHE
    return env


def cpu(run: Run) -> float:
    return run.cpu_s


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--answer-ms", type=float, default=200.0)
    parser.add_argument("--pacing", choices=("burst", "tokens"), default="burst")
    parser.add_argument("--big", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3, help="speed runs; the median CPU one is reported")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    answer_s = args.answer_ms / 1000
    if args.pacing == "burst":
        directives, pacing = f"ttft={answer_s},token_delay=0,words={WORDS}", "whole answer after"
    else:
        delay = min(0.002, answer_s / WORDS)
        directives = f"ttft={answer_s - delay * (WORDS - 1):.6f},token_delay={delay},words={WORDS}"
        pacing = f"{WORDS} tokens {delay * 1000:g} ms apart, last at"
    results: list[bool] = []
    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    print(
        f"relay batch, Python {platform.python_version()}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} cores{load}; local relay in its own process"
    )
    with tempfile.TemporaryDirectory(prefix="relay-batch-bench-") as tmp:
        work = Path(tmp)
        server, url = start_relay(directives)
        try:
            run_batch(min(args.n, 64), args.concurrency, url, work)  # unmeasured: fills the bytecode cache
            runs = sorted((run_batch(args.n, args.concurrency, url, work) for _ in range(args.repeat)), key=cpu)
            run = runs[len(runs) // 2]
        finally:
            server.terminate()
            server.wait()
        ideal = args.n / args.concurrency * answer_s
        ratio = run.wall_s / ideal
        cpu_ms = run.cpu_s / args.n * 1000
        print(f"\n{args.n:,} prompts at -c {args.concurrency}, {pacing} {args.answer_ms:g} ms ({directives}):\n")
        print(f"- lines: {run.lines:,} ({run.ok:,} ok), exit {run.code}")
        print(
            f"- wall: {run.wall_s:.2f} s, ideal {ideal:.2f} s, {ratio:.3f}x (target <= 1.15x): {verdict(ratio <= 1.15)}"
        )
        spread = (
            f" (median of {len(runs)} runs: {cpu(runs[0]) / args.n * 1000:.2f}-{cpu(runs[-1]) / args.n * 1000:.2f})"
        )
        print(
            f"- CPU: {run.cpu_s:.2f} s, {cpu_ms:.2f} ms per request{spread if len(runs) > 1 else ''}"
            f" (target < 2 ms): {verdict(cpu_ms < 2)}"
        )
        results += [ratio <= 1.15, cpu_ms < 2, all(r.ok == args.n for r in runs)]
        if not args.no_memory:
            server, url = start_relay(f"ttft=0,token_delay=0,words={WORDS}")
            try:
                small = run_batch(args.n, args.concurrency, url, work)
                big = run_batch(args.big, args.concurrency, url, work)
            finally:
                server.terminate()
                server.wait()
            growth = big.max_rss_mb / small.max_rss_mb
            print(f"\nmemory, no delay, -c {args.concurrency}:\n")
            for r in (small, big):
                per = r.cpu_s / r.n * 1000
                print(
                    f"- {r.n:,} prompts: max RSS {r.max_rss_mb:.1f} MB, wall {r.wall_s:.2f} s, CPU {per:.2f} ms/request"
                )
            print(f"- max RSS {args.big:,} vs {args.n:,}: {growth:.3f}x (target <= 1.10x): {verdict(growth <= 1.10)}")
            results += [growth <= 1.10, small.ok == args.n, big.ok == args.big]
    print(f"\nbatch: {verdict(all(results))}")
    return 1 if args.check and not all(results) else 0


if __name__ == "__main__":
    sys.exit(main())
