"""The bodies of ``relay team init | push | status``, and the push the automatic one shares."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relaycli.config.team import TeamSettings
from relaycli.usage.periods import timestamp

if TYPE_CHECKING:
    from relaycli.ledger import Ledger
    from relaycli.output.streams import Streams
    from relaycli.team.push import PushResult
    from relaycli.team.source import TeamSource
    from relaycli.team.store import TeamStore

__all__ = ["TeamInputs", "open_source", "open_store", "push_now", "run_init", "run_push", "run_status"]


@dataclass(frozen=True, slots=True)
class TeamInputs:
    settings: TeamSettings
    env: Mapping[str, str]
    ledger_path: Path
    ledger: Callable[[], Ledger]

    @property
    def data_dir(self) -> Path:
        return self.ledger_path.parent


def open_store(
    settings: TeamSettings, env: Mapping[str, str], *, timeout: float = 10, statement_timeout: float = 120
) -> TeamStore:
    from relaycli.team.dsn import resolve_dsn
    from relaycli.team.store import _driver, connect

    dsn = resolve_dsn(settings, env)
    _driver()  # the install hint before anything else
    return connect(dsn, timeout=timeout, statement_timeout=statement_timeout)


def open_source(
    settings: TeamSettings, env: Mapping[str, str], *, timeout: float = 10, statement_timeout: float = 120
) -> TeamSource:
    """The team database as a cost report's source (its schema checked); ``source.store.close()`` ends it."""
    from relaycli.team.source import TeamSource

    store = open_store(settings, env, timeout=timeout, statement_timeout=statement_timeout)
    try:
        store.require_schema()
    except BaseException:
        store.close()
        raise
    return TeamSource(store, settings)


def push_now(
    settings: TeamSettings,
    env: Mapping[str, str],
    ledger: Ledger,
    data_dir: Path,
    *,
    timeout: float = 10,
    statement_timeout: float = 120,
    max_rows: int | None = None,
    batch: int | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> PushResult:
    """Push this machine's pending rows; ``team.json`` records the outcome (and the error, if any)."""
    from relaycli.errors import RelayError
    from relaycli.team.machine import label, machine_id
    from relaycli.team.push import BATCH, push
    from relaycli.team.state import read_state, write_state

    state = read_state(data_dir)
    try:
        store = open_store(settings, env, timeout=timeout, statement_timeout=statement_timeout)
    except RelayError as exc:
        write_state(data_dir, replace(state, last_error=exc.message))
        raise
    try:
        store.require_schema()
        key = machine_id(data_dir)
        done = push(
            ledger,
            store,
            machine_key=key,
            label=label(key),
            user=settings.user_name(env),
            batch=batch or BATCH,
            max_rows=max_rows,
            on_batch=on_batch,
        )
    except RelayError as exc:
        write_state(data_dir, replace(state, database=store.dsn.display, last_error=exc.message))
        raise
    finally:
        store.close()
    write_state(
        data_dir,
        replace(
            state,
            database=store.dsn.display,
            pushed_rowid=done.pushed_rowid,
            last_push=timestamp(datetime.now(UTC)),
            last_error=None,
        ),
    )
    return done


def run_init(inputs: TeamInputs, streams: Streams) -> int:
    from relaycli.team.migrations import SCHEMA_VERSION

    with open_store(inputs.settings, inputs.env) as store:
        applied = store.migrate()
    if applied:
        streams.note(f"team database {store.dsn.display}: applied {', '.join(applied)} (schema {SCHEMA_VERSION})")
    else:
        streams.note(f"team database {store.dsn.display}: schema {SCHEMA_VERSION} is current")
    return 0


def run_push(inputs: TeamInputs, streams: Streams, *, json_out: bool = False, batch: int | None = None) -> int:
    from relaycli.team.state import read_state

    if not inputs.ledger_path.exists():
        done_rows, new, pending = 0, 0, 0
        streams.note(f"nothing to push: no requests recorded yet ({inputs.ledger_path} does not exist)")
    else:
        ledger = inputs.ledger()
        done = push_now(inputs.settings, inputs.env, ledger, inputs.data_dir, batch=batch)
        done_rows, new, pending = done.sent, done.new, done.pending
        again = done.sent - done.new
        extra = f" ({again:,} already there)" if again else ""
        streams.note(
            f"pushed {done.new:,} row{'s' if done.new != 1 else ''} to {read_state(inputs.data_dir).database}{extra}"
            if done.sent
            else "nothing to push: the team database has every row of this machine"
        )
    if json_out:
        streams.stdout.write(json.dumps({"sent": done_rows, "new": new, "pending": pending}) + "\n")
    return 0


def status_data(inputs: TeamInputs, store: TeamStore | None, error: str | None) -> dict[str, Any]:
    from relaycli.team.machine import label, machine_id
    from relaycli.team.state import read_state

    state = read_state(inputs.data_dir)
    local_rows = pending = 0
    if inputs.ledger_path.exists():
        from relaycli.ledger.export import count_after, last_rowid

        ledger = inputs.ledger()
        local_rows = last_rowid(ledger)
        mark = state.pushed_rowid
        if store is not None:
            key = machine_id(inputs.data_dir)
            rows = store.query("SELECT pushed_rowid FROM machines WHERE machine_key = %s", (key,))
            mark = int(rows[0][0]) if rows else 0
        pending = count_after(ledger, mark if mark <= local_rows else 0)
    key = machine_id(inputs.data_dir)
    server: dict[str, Any] | None = None
    if store is not None:
        ((machines, users),) = store.query(
            "SELECT (SELECT COUNT(*) FROM machines), (SELECT COUNT(DISTINCT user_id) FROM hourly)"
        )
        totals = store.query(
            "SELECT currency, SUM(requests), SUM(cost_usd), SUM(cost_n), SUM(cost_billed), SUM(billed_n)"
            " FROM hourly GROUP BY currency ORDER BY currency"
        )
        server = {
            "machines": int(machines),
            "users": int(users),
            "requests": sum(int(t[1]) for t in totals),
            "totals": [
                {
                    "currency": currency,
                    "requests": int(n),
                    "cost_usd": _money(usd) if usd_n else None,
                    "billed": _money(billed) if billed_n else None,
                }
                for currency, n, usd, usd_n, billed, billed_n in totals
            ],
        }
    return {
        "database": store.dsn.display if store is not None else state.database,
        "machine": label(key),
        "machine_id": key,
        "user": inputs.settings.user_name(inputs.env),
        "push": inputs.settings.push if inputs.settings.configured else "manual",
        "local_rows": local_rows,
        "pending": pending,
        "last_push": state.last_push,
        "last_error": state.last_error,
        "server": server,
        "error": error,
    }


def _money(pico: Any) -> str:
    from decimal import Decimal

    from relaycli.output.money import decimal_string

    return str(decimal_string(Decimal(int(pico)).scaleb(-12)))


def run_status(inputs: TeamInputs, streams: Streams, *, json_out: bool = False) -> int:
    """What is pending, the last push, and the server's totals. An unreachable server still shows the local
    part, then fails with its exit code."""
    from relaycli.errors import RelayError

    failure: RelayError | None = None
    store = None
    try:
        store = open_store(inputs.settings, inputs.env)
        store.require_schema()
    except RelayError as exc:
        failure = exc
        if store is not None:
            store.close()
            store = None
    try:
        data = status_data(inputs, store, failure.message if failure else None)
    finally:
        if store is not None:
            store.close()
    if json_out:
        streams.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    else:
        _print_status(streams, data)
    if failure is not None:
        raise failure
    return 0


def _print_status(streams: Streams, data: dict[str, Any]) -> None:
    out = streams.stdout
    out.write(f"database:  {data['database'] or '(not pushed yet)'}\n")
    out.write(f"machine:   {data['machine']}   user: {data['user']}   push: {data['push']}\n")
    out.write(f"pending:   {data['pending']:,} of {data['local_rows']:,} local rows\n")
    out.write(f"last push: {data['last_push'] or 'never'}\n")
    if data["last_error"]:
        out.write(f"last error: {data['last_error']}\n")
    server = data["server"]
    if server is not None:
        out.write(
            f"server:    {server['machines']:,} machines, {server['users']:,} users, {server['requests']:,} requests\n"
        )
        for t in server["totals"]:
            billed, usd = t["billed"] or "-", t["cost_usd"] or "-"
            out.write(
                f"           {t['currency']}: {t['requests']:,} requests, billed {billed} (list price {usd} USD)\n"
            )
