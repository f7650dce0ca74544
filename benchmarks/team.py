"""The team ledger on a real PostgreSQL server: pushing 100,000 rows (target < 5 s) and a monthly
``relay cost --team`` over 3,000,000 rows (target < 2 s), both as whole ``relay`` processes.

    python benchmarks/team.py [--rows 3000000] [--push 100000] [--runs 3]

The server is ``RELAY_TEST_POSTGRES_DSN`` (a superuser DSN; a database is created and dropped), else a
throwaway one started here (``tests/team/pgserver.py``: Debian's postgresql-15, durability off, as in
the tests). The rows besides the pushed ones are generated on the server (12 months, 20 machines, 10
users, 8 models, 3 profiles, one request in ten tagged), with their hourly rollup computed as a push
keeps it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from relaycli.team.migrations import KEYS, SUMS, TOTAL_KEYS  # noqa: E402
from relaycli.team.push import ROW_SUMS  # noqa: E402
from tests.team import pgserver  # noqa: E402
from tests.team.conftest import with_database  # noqa: E402

USERS, MODELS, PROFILES, MACHINES = 10, 8, 3, 20
MODEL_NAMES = [
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4o",
    "o3",
    "claude-sonnet-4-5",
    "claude-haiku-4-5",
    "gemini-2.5",
    "qwen3",
]


def generate(conn, rows: int) -> None:  # type: ignore[no-untyped-def]
    names = [f"user{i:02d}@box" for i in range(USERS)] + MODEL_NAMES + ["work", "home", "cny", "stream", "cursor"]
    conn.execute("INSERT INTO names (name) SELECT unnest(%s::text[]) ORDER BY 1", (names,))
    ids = dict(conn.execute("SELECT name, id FROM names").fetchall())
    users = [ids[n] for n in names[:USERS]]
    models = [ids[n] for n in MODEL_NAMES]
    profiles = [ids["work"], ids["home"], ids["cny"]]
    conn.execute(
        "INSERT INTO machines (machine_key, label, pushed_rowid)"
        " SELECT md5(i::text), 'box' || i, 0 FROM generate_series(1, %s) i",
        (MACHINES,),
    )
    conn.execute(
        f"""
        INSERT INTO requests SELECT
            1 + g %% {MACHINES}, md5('r' || g)::uuid,
            now() - (g::float8 / {rows}) * interval '365 days',
            (%(users)s::int[])[1 + (g %% {MACHINES}) %% {USERS}], %(stream)s,
            (%(profiles)s::int[])[1 + g %% 3], (%(models)s::int[])[1 + (g / 7) %% 8],
            (%(models)s::int[])[1 + (g / 7) %% 8], CASE WHEN g %% 10 = 0 THEN %(cursor)s ELSE 0 END,
            CASE WHEN g %% 3 = 2 THEN 'CNY' ELSE 'USD' END, CASE WHEN g %% 50 = 0 THEN 1 ELSE 0 END,
            0, false, g %% 20 = 0,
            200 + g %% 3000, 50 + g %% 800, g %% 100, 0,
            (200 + g %% 3000)::bigint * 2000000 + (50 + g %% 800)::bigint * 8000000,
            (200 + g %% 3000)::bigint * 2000000 + (50 + g %% 800)::bigint * 8000000,
            NULL, NULL
        FROM generate_series(1, %(rows)s) g
        """,
        {
            "users": users,
            "stream": ids["stream"],
            "profiles": profiles,
            "models": models,
            "cursor": ids["cursor"],
            "rows": rows,
        },
    )
    conn.execute(
        f"INSERT INTO hourly (hour, {', '.join(KEYS)}, {', '.join(SUMS)})"
        f" SELECT date_trunc('hour', ts), {', '.join(KEYS)}, {', '.join(f'SUM({e})' for e in ROW_SUMS.values())}"
        f" FROM requests GROUP BY 1, {', '.join(KEYS)}"
    )
    conn.execute(
        f"INSERT INTO hourly_totals (hour, {', '.join(TOTAL_KEYS)}, {', '.join(SUMS)})"
        f" SELECT date_trunc('hour', ts), {', '.join(TOTAL_KEYS[:-1])}, false,"
        f" {', '.join(f'SUM({e})' for e in ROW_SUMS.values())}"
        f" FROM requests GROUP BY 1, {', '.join(TOTAL_KEYS[:-1])}"
    )
    conn.commit()
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE")


def local_ledger(home: Path, rows: int) -> None:
    from datetime import UTC, datetime, timedelta

    from relaycli.ledger import Ledger, LedgerRow
    from relaycli.ledger.store import utc_timestamp

    now = datetime.now(UTC)
    with Ledger.open(home / "ledger.db") as ledger:
        for start in range(0, rows, 10_000):
            ledger.record_many(
                [
                    LedgerRow(
                        ts=utc_timestamp(now - timedelta(seconds=(rows - i) * 30)),
                        command="stream",
                        profile="work",
                        host="relay.example",
                        protocol="openai",
                        model_requested=MODEL_NAMES[i % 8],
                        model_answered=MODEL_NAMES[i % 8],
                        prompt_tokens=100 + i % 900,
                        completion_tokens=20 + i % 400,
                        cost_usd=Decimal(100 + i % 900) * Decimal("0.000002"),
                        cost_billed=Decimal(100 + i % 900) * Decimal("0.000002"),
                        tag="cursor" if i % 10 == 0 else None,
                    )
                    for i in range(start, min(rows, start + 10_000))
                ]
            )


def relay(home: Path, dsn: str, *args: str) -> float:
    env = {**os.environ, "RELAY_HOME": str(home), "RELAY_TEAM_DSN": dsn}
    env.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "relay-bench-pycache"))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "relaycli", *args], env=env, capture_output=True, text=True)
    took = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"relay {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--push", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    import psycopg

    folder = None
    admin = os.environ.get("RELAY_TEST_POSTGRES_DSN")
    if not admin:
        folder = Path(tempfile.mkdtemp(prefix="relay-pg-bench-"))
        admin = pgserver.start(folder)
    name = f"relay_bench_{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="relay-team-bench-"))
    started = time.perf_counter()
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
            (server,) = conn.execute("SHOW server_version").fetchone()
        dsn = with_database(admin, name)
        home = work / "home"
        home.mkdir()
        (home / "config.toml").write_text('[team]\nuser = "bench@box"\npush = "manual"\n')
        relay(home, dsn, "team", "init")
        with psycopg.connect(dsn) as conn:
            t0 = time.perf_counter()
            generate(conn, args.rows - args.push)
            filled = time.perf_counter() - t0
        local_ledger(home, args.push)
        push_s = relay(home, dsn, "team", "push")
        with psycopg.connect(dsn) as conn:
            (total,) = conn.execute("SELECT COUNT(*) FROM requests").fetchone()
            (rollup,) = conn.execute("SELECT COUNT(*) FROM hourly").fetchone()
            (size,) = conn.execute("SELECT pg_total_relation_size('requests')").fetchone()
            (rollup_size,) = conn.execute("SELECT pg_total_relation_size('hourly')").fetchone()
        reports = {}
        for label, extra in (
            ("relay cost --team (by month, all 12 months)", ()),
            ("relay cost --team --by user,model", ("--by", "user,model")),
            (
                "relay cost --team --by day --timezone Asia/Kolkata (from the rows)",
                ("--by", "day", "--timezone", "Asia/Kolkata"),
            ),
        ):
            relay(home, dsn, "cost", "--team", *extra)  # warm
            reports[label] = statistics.median(relay(home, dsn, "cost", "--team", *extra) for _ in range(args.runs))
        print(
            f"relay team ledger, PostgreSQL {server} (local, durability off), Python {sys.version.split()[0]}, "
            f"{os.cpu_count()} cores; whole relay processes"
        )
        print()
        print(
            f"- team database: {total:,} rows ({size / total:.0f} bytes a row with its indexes, "
            f"{size / 1e6:,.0f} MB), hourly rollup {rollup:,} rows ({rollup_size / 1e6:,.0f} MB); "
            f"{args.rows - args.push:,} generated on the server in {filled:.1f} s"
        )
        print(f"- `relay team push` of {args.push:,} rows: {push_s:.2f} s")
        for label, took in reports.items():
            print(f"- `{label}`: {took:.2f} s (median of {args.runs})")
        print(f"- wall time: {time.perf_counter() - started:.0f} s")
        print()
        monthly = reports["relay cost --team (by month, all 12 months)"]
        ok_push, ok_report = push_s < 5, monthly < 2
        print(f"push {args.push:,} rows: {push_s:.2f} s (target < 5 s): {'PASS' if ok_push else 'FAIL'}")
        print(f"monthly report over {total:,} rows: {monthly:.2f} s (target < 2 s): {'PASS' if ok_report else 'FAIL'}")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if folder is not None:
            pgserver.stop(folder)
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
