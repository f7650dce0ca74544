"""A large usage ledger for timing `relay cost`, and the timings themselves.

    python benchmarks/gen_ledger.py [--rows 1000000] [--months 12] [--home DIR] [--seed 7]
                                    [--runs 3] [--no-time] [--check]

Writes ``DIR/ledger.db`` and ``DIR/config.toml`` (a throwaway directory unless ``--home`` is given):
``--rows`` requests spread over the last ``--months`` months, on three profiles (a relay billed in CNY at
1 per USD and compared with a card at 7.3, a direct profile billed at 7.3, and a USD one), eight models
(one unpriced), about 3 % failures (some with no usage), 2 % ``bench`` rows, cached input on a share of
the requests, and a third of the successful requests answered from the response cache (cost 0, their
saving recorded). The rows come from the real recording path (``recording.build_row`` with the real price
table) for a few hundred request shapes, then get their own id, time, request id and latency, and are
inserted in one transaction (the ledger's own schema, opened and migrated by ``Ledger.open``).

Then it times, as a user would run them (whole ``relay`` processes, start-up included; the best of
``--runs``), on a warm page cache:

* ``relay cost --json`` (every month, by month), target < 1 s;
* ``relay cost --by day,model --json``, target < 2 s;

and a few more reports, and the budget check made before/after a request on a profile with a budget
(month-to-date spend of one profile). The last lines say PASS or FAIL; ``--check`` exits 1 on a FAIL.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from relaycli.config.loader import Settings, load  # noqa: E402
from relaycli.datatypes import Result, Timing, Usage  # noqa: E402
from relaycli.errors import RateLimited  # noqa: E402
from relaycli.ledger import Ledger, LedgerRow, utc_timestamp  # noqa: E402
from relaycli.ledger.store import COLUMNS  # noqa: E402
from relaycli.pipeline.recording import build_row  # noqa: E402
from relaycli.usage.prices import PriceTable  # noqa: E402

CONFIG = """\
default_profile = "relay"

[profiles.relay]
base_url = "https://relay.example.com/v1"
billing = { currency = "CNY", per_usd = 1.0 }
compare_to = { currency = "CNY", per_usd = 7.3 }
budget = 50000
budget_action = "warn"

[profiles.direct]
base_url = "https://api.anthropic.com"
protocol = "anthropic"
billing = { currency = "CNY", per_usd = 7.3 }

[profiles.router]
base_url = "https://router.example.com/api/v1"

[prices."house-model"]
input = 0.30
output = 1.20
"""

# (model, weight): one is in no price table at all.
MODELS = [
    ("gpt-4.1", 20),
    ("gpt-4.1-mini", 25),
    ("claude-sonnet-4-5", 18),
    ("claude-haiku-4-5", 12),
    ("deepseek-chat", 10),
    ("gemini-2.5-flash", 8),
    ("house-model", 5),
    ("mystery-model-x", 2),
]
PROFILES = [("relay", 70), ("direct", 15), ("router", 15)]
TARGETS = {"monthly": 1.0, "by day,model": 2.0}
CACHE_HITS = 1 / 3  # the share of successful requests answered from the response cache
_UNIT = Decimal(10) ** 12
_MONEY = ("cost_usd", "cost_billed", "saved_usd", "saved_billed")


def settings() -> Settings:
    """CONFIG, as ``relay`` reads it."""
    with tempfile.TemporaryDirectory(prefix="relay-gen-") as tmp:
        path = Path(tmp) / "config.toml"
        path.write_text(CONFIG)
        return load(path, {})


def shapes(seed: int) -> list[tuple[LedgerRow, LedgerRow | None]]:
    """A few hundred rows made by ``build_row``, one per request shape, each with the row of the same
    request answered from the response cache (None for a failure: only complete answers are cached)."""
    rng = random.Random(seed)
    config = settings()
    prices = PriceTable.load(config.prices)
    by_name = config.profiles
    out: list[tuple[LedgerRow, LedgerRow | None]] = []
    for model, _ in MODELS:
        for profile_name, _ in PROFILES:
            profile = by_name[profile_name]
            for variant in range(12):
                prompt = rng.choice([200, 800, 2_000, 6_000, 20_000, 60_000]) + rng.randrange(100)
                cached = prompt * rng.choice([0, 0, 0, 1, 2, 3]) // 4
                completion = rng.choice([50, 150, 400, 900, 2_500]) + rng.randrange(50)
                raw = {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "prompt_tokens_details": {"cached_tokens": cached},
                }
                usage = Usage(prompt_tokens=prompt, completion_tokens=completion, cached_tokens=cached, raw=raw)
                outcome, error, result = "ok", None, _result(model, usage)
                if variant == 10:  # a failure that came back with nothing
                    outcome, error, result = "error", RateLimited("429 after retries", status=429), None
                if variant == 11:  # a truncated stream: partial usage
                    outcome = "truncated"
                rows = [
                    build_row(
                        command="stream",
                        profile=profile,
                        model_requested=model,
                        result=result,
                        outcome=outcome,
                        error=error,
                        prices=prices,
                        cached=cached,
                    )
                    for cached in ((False, True) if outcome == "ok" else (False,))
                ]
                out.append((rows[0], rows[1] if len(rows) > 1 else None))
    return out


def _result(model: str, usage: Usage) -> Result:
    return Result(
        text="",
        model=model,
        finish_reason="stop",
        usage=usage,
        request_id="req_x",
        timing=Timing(t_send=0, t_first_token=300_000_000, t_end=2_000_000_000),
        status=200,
    )


def generate(path: Path, rows: int, months: int, seed: int) -> None:
    rng = random.Random(seed)
    templates = shapes(seed)
    by_key: dict[tuple[str, str], list[tuple[LedgerRow, LedgerRow | None]]] = {}
    for pair in templates:
        by_key.setdefault((pair[0].model_requested, pair[0].profile), []).append(pair)
    # Ten successful shapes per model and profile, then a refused request and a truncated stream.
    weights = [1.0] * 10 + [0.2, 0.12]
    models = [m for m, _ in MODELS]
    model_weights = [w for _, w in MODELS]
    names = [p for p, _ in PROFILES]
    name_weights = [w for _, w in PROFILES]
    end = datetime.now(UTC)
    span = timedelta(days=30.44 * months).total_seconds()
    offsets = sorted(rng.random() * span for _ in range(rows))
    start = end - timedelta(seconds=span)
    Ledger.open(path).close()  # creates and migrates the schema
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    insert = f"INSERT INTO requests ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    conn.execute("BEGIN IMMEDIATE")
    batch: list[list[object]] = []
    for n, offset in enumerate(offsets):
        choices = by_key[(rng.choices(models, model_weights)[0], rng.choices(names, name_weights)[0])]
        template, hit = rng.choices(choices, weights)[0]
        if hit is not None and rng.random() < CACHE_HITS:
            template = hit
        row = dataclasses.replace(
            template,
            id=f"{seed:04x}{n:028x}",
            ts=utc_timestamp(start + timedelta(seconds=offset)),
            request_id=f"req_{n:012d}",
            latency_ms=round(rng.uniform(400, 9000), 3),
            ttft_ms=round(rng.uniform(150, 900), 3),
            tag="bench" if rng.random() < 0.02 else None,
        )
        batch.append([_db(name, getattr(row, name)) for name in COLUMNS])
        if len(batch) == 50_000:
            conn.executemany(insert, batch)
            batch.clear()
    conn.executemany(insert, batch)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def _db(name: str, value: object) -> object:
    if name in _MONEY:
        return None if value is None else int(value * _UNIT)  # type: ignore[operator]
    if name == "per_usd":
        return str(value)
    if name == "cached":
        return int(bool(value))
    return value


def time_command(home: Path, args: list[str], runs: int) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env.update(RELAY_HOME=str(home), TZ=env.get("TZ", "UTC"))
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "relaycli", *args], env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
        if done.returncode != 0:
            raise SystemExit(f"relay {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
        best = min(best, elapsed)
    return best


def time_budget_check(home: Path, runs: int) -> float:
    from relaycli.usage.budget import month_to_date

    settings = load(home / "config.toml", {"RELAY_HOME": str(home)})
    profile = settings.profiles["relay"]
    best = float("inf")
    with Ledger.open(home / "ledger.db") as ledger:
        for _ in range(max(runs, 5)):
            t0 = time.perf_counter()
            month_to_date(ledger, profile, now=datetime.now(UTC), env={"TZ": "UTC"})
            best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--home", type=Path, help="Where to write ledger.db and config.toml (kept).")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3, help="Runs per timed command; the best is reported.")
    parser.add_argument("--no-time", action="store_true", help="Only write the ledger.")
    parser.add_argument("--reuse", action="store_true", help="Time the ledger already in --home.")
    parser.add_argument("--check", action="store_true", help="Exit 1 when a target is missed.")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="relay-ledger-"))
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(CONFIG)
    ledger = home / "ledger.db"
    if args.reuse and args.home and ledger.exists():
        with Ledger.open(ledger) as existing:
            print(f"reusing {ledger}: {existing.count():,} rows ({ledger.stat().st_size / 1e6:,.0f} MB)")
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{ledger}{suffix}").unlink(missing_ok=True)
        t0 = time.perf_counter()
        generate(ledger, args.rows, args.months, args.seed)
        size = ledger.stat().st_size / 1e6
        print(
            f"wrote {args.rows:,} rows over {args.months} months to {ledger} ({size:,.0f} MB) "
            f"in {time.perf_counter() - t0:.1f} s"
        )
    if args.no_time:
        return 0
    print(
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}; whole `relay` processes, best of {args.runs}, TZ=UTC unless given"
    )
    failed = False
    reports = [
        ("monthly", ["cost", "--json"]),
        ("by day,model", ["cost", "--by", "day,model", "--json"]),
        ("monthly, table", ["cost"]),
        ("monthly, --timezone Asia/Kolkata", ["cost", "--timezone", "Asia/Kolkata", "--json"]),
        ("by month,model,profile", ["cost", "--by", "month,model,profile", "--json"]),
        ("one month by day", ["cost", "--month", datetime.now(UTC).strftime("%Y-%m"), "--by", "day", "--json"]),
    ]
    for label, argv in reports:
        seconds = time_command(home, argv, args.runs)
        target = TARGETS.get(label)
        verdict = ""
        if target is not None:
            ok = seconds < target
            failed |= not ok
            verdict = f"  (target < {target:g} s: {'PASS' if ok else 'FAIL'})"
        print(f"relay {' '.join(argv):<58} {seconds:6.2f} s{verdict}")
    print(f"budget check (month-to-date spend of one profile)   {time_budget_check(home, args.runs) * 1000:6.1f} ms")
    if not args.home:
        shutil.rmtree(home, ignore_errors=True)
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
