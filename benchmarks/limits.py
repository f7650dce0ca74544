"""Shared rate limits and the circuit breaker, measured with real relay processes against local relays.

    python benchmarks/limits.py [--procs 8] [--each 10] [--rpm 60] [--check]

(a) **A shared rpm limit: no 429 storm.** A local relay enforces ``--rpm`` requests a minute per key (the
    ``rpm`` knob: a bucket of a minute's worth refilling continuously, a 429 with the real wait beyond it).
    ``--procs`` relay processes run ``--each`` ``relay stream`` requests each, one after another, all on one
    profile with ``limits = { rpm = RPM }``. Counted: the 429s the relay received (its request log),
    requests that failed, and the run time against the ideal the limit allows: the first RPM requests at
    once, then one every 60/RPM s; the last one may start at the later of that moment and the time the
    same requests take with no limit at all (what "at once" costs on this machine), and then takes one
    request's time. Targets: no 429, every request succeeds, the run within 15 % of that. A second run
    has **no** limit configured: relay learns it from the 429s and the headers, and the target is at most
    one 429 per process.
(b) **An endpoint that is down: the circuit opens.** A local relay answers 503 to everything. ``--procs``
    processes run ``--each`` requests each on a profile pointing at it, with ``fallback = ["mock"]`` (a
    working local relay), the default retries (2) and ``breaker = { failures = 5, cooldown = 30 }``.
    Counted: requests the failing relay received in all, and every answer's success. Then the extra time of
    a request that meets the open circuit and goes to its fallback, against a request sent to the fallback
    profile directly (medians of whole processes, interleaved). Targets: every request answered; extra time
    under 50 ms.

Local relays run as ``python -m relaycli.mock`` with ``--log`` (one JSON line per request). Exits 0 whatever
the result, unless ``--check``: then 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def local_relay(directives: str, log: Path) -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "relaycli.mock", "--port", "0", "--set", directives, "--log", str(log)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def statuses(log: Path) -> list[int]:
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        record = json.loads(line)
        if record.get("path", "").endswith(("/chat/completions", "/messages")):
            out.append(int(record.get("status") or 0))
    return out


def home_with(config: str) -> Path:
    home = Path(tempfile.mkdtemp(prefix="relay-limits-"))
    (home / "config.toml").write_text(config)
    (home / "config.toml").chmod(0o600)
    return home


def burst(home: Path, profile: str, procs: int, each: int, env: dict[str, str]) -> tuple[float, list[int]]:
    """``procs`` processes, each running ``each`` requests in a row; the wall time and every exit code."""
    script = (
        "import subprocess, sys\n"
        "codes = []\n"
        f"for i in range({each}):\n"
        "    done = subprocess.run([sys.executable, '-m', 'relaycli', 'stream', '--no-cache', '-p', sys.argv[1],"
        " f'question {sys.argv[2]}.{i}'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "    codes.append(done.returncode)\n"
        "print(' '.join(map(str, codes)))\n"
    )
    full = {**os.environ, **env, "RELAY_HOME": str(home), "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    runners = [
        subprocess.Popen([sys.executable, "-c", script, profile, str(p)], stdout=subprocess.PIPE, text=True, env=full)
        for p in range(procs)
    ]
    codes: list[int] = []
    for runner in runners:
        out, _ = runner.communicate(timeout=600)
        codes.extend(int(c) for c in out.split())
    return time.perf_counter() - start, codes


def shared_limit(args: argparse.Namespace, work: Path) -> list[tuple[str, bool]]:
    total = args.procs * args.each
    ideal = max(total - args.rpm, 0) * 60.0 / args.rpm
    results: list[tuple[str, bool]] = []
    with local_relay("token_delay=0", work / "free.jsonl") as url:
        home = home_with(f'[profiles.free]\nbase_url = "{url}/v1"\ndefault_model = "gpt-4.1-mini"\n')
        at_once, codes = burst(home, "free", args.procs, args.each, {})
    print(f"(a) {total} requests from {args.procs} processes with no limit anywhere: {at_once:.1f} s")
    for limited in (True, False):
        log = work / f"quota-{limited}.jsonl"
        with local_relay(f"token_delay=0 rpm={args.rpm:g}", log) as url:
            limits = f"limits = {{ rpm = {args.rpm:g} }}\n" if limited else ""
            home = home_with(f'[profiles.q]\nbase_url = "{url}/v1"\ndefault_model = "gpt-4.1-mini"\n{limits}')
            wall, codes = burst(home, "q", args.procs, args.each, {})
        seen = statuses(log)
        too_many = seen.count(429)
        failed = sum(1 for c in codes if c != 0)
        if limited:
            # the last request may start once the limit allows it (or once the machine gets to it, whichever
            # is later), and then takes as long as one request takes while the others run
            one = at_once * args.procs / total
            allowed = max(ideal, at_once) + one
            ok = too_many == 0 and failed == 0 and wall <= allowed * 1.15
            print(
                f"    with rpm = {args.rpm:g} in the profile: {wall:.1f} s against {allowed:.1f} s allowed"
                f" (the limit lets the last request start at {ideal:.1f} s; one request takes {one:.1f} s),"
                f" {too_many} 429s, {failed} failed: {'PASS' if ok else 'FAIL'}"
            )
            results.append(("(a) shared rpm limit: no 429, within 15 % of the ideal", ok))
        else:
            ok = too_many <= args.procs and failed == 0
            print(
                f"    no limit in the profile (learned from the server): {wall:.1f} s, {too_many} 429s for"
                f" {args.procs} processes, {failed} failed: {'PASS' if ok else 'FAIL'}"
            )
            results.append(("(a) learned limit: at most one 429 per process", ok))
    return results


def breaker(args: argparse.Namespace, work: Path) -> list[tuple[str, bool]]:
    log = work / "down.jsonl"
    with local_relay("fail=503", log) as down, local_relay("token_delay=0", work / "up.jsonl") as up:
        config = (
            f'[profiles.down]\nbase_url = "{down}/v1"\ndefault_model = "gpt-4.1-mini"\nfallback = ["up"]\n'
            "breaker = { failures = 5, cooldown = 30 }\n"
            f'[profiles.up]\nbase_url = "{up}/v1"\ndefault_model = "gpt-4.1-mini"\n'
        )
        home = home_with(config)
        wall, codes = burst(home, "down", args.procs, args.each, {})
        reached = len(statuses(log))
        failed = sum(1 for c in codes if c != 0)
        env = {**os.environ, "RELAY_HOME": str(home), "PYTHONPATH": str(ROOT)}
        via, direct = [], []
        for i in range(args.timing_runs):
            for profile, into in (("down", via), ("up", direct)) if i % 2 else (("up", direct), ("down", via)):
                start = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-m", "relaycli", "stream", "--no-cache", "-p", profile, f"timing {i}"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=env,
                    check=True,
                )
                into.append((time.perf_counter() - start) * 1000)
    total = args.procs * args.each
    extra = statistics.median(via) - statistics.median(direct)
    print(
        f'(b) {total} requests from {args.procs} processes to an endpoint answering 503, fallback "up",'
        f" retries 2, breaker after 5 failures: {wall:.1f} s; the failing endpoint received {reached} requests"
        f" ({reached / total:.2f} per request); {failed} failed"
    )
    print(
        f"    circuit open: a request reaches its fallback in {statistics.median(via):.1f} ms median, against"
        f" {statistics.median(direct):.1f} ms sent there directly: {extra:+.1f} ms"
    )
    return [
        ("(b) every request answered through the fallback", failed == 0),
        ("(b) open circuit: under 50 ms extra to the fallback", extra < 50),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--procs", type=int, default=8)
    parser.add_argument("--each", type=int, default=10)
    parser.add_argument("--rpm", type=float, default=60)
    parser.add_argument("--timing-runs", type=int, default=10)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="relay-limits-bench-"))
    results = shared_limit(args, work) + breaker(args, work)
    failed = [name for name, ok in results if not ok]
    print(
        f"targets: {len(results) - len(failed)} of {len(results)} met"
        + (f"; missed: {'; '.join(failed)}" if failed else "")
    )
    if args.check and failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
