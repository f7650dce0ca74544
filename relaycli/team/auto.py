"""The automatic push at the end of a command (``[team] push = "auto"``, the default with a ``[team]``
table): after the command's own work, at most ``AUTO_ROWS`` rows, a connect timeout of 2 s and a statement
timeout of 5 s. Any failure is one warning; the rows stay queued for the next push, and the command's exit
code is its own. Nothing is pending (the usual case after ``relay cost`` or ``relay log``): nothing is
imported or connected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from relaycli.config.team import TeamSettings

if TYPE_CHECKING:
    from relaycli.ledger import Ledger

__all__ = ["AUTO_ROWS", "push_after"]

AUTO_ROWS = 20_000
CONNECT_TIMEOUT = 2
STATEMENT_TIMEOUT = 5


def push_after(
    settings: TeamSettings, env: Mapping[str, str], ledger: Ledger, data_dir: Path, warn: Callable[[str], None]
) -> None:
    if not settings.configured or settings.push != "auto":
        return
    from relaycli.ledger.export import count_after, last_rowid
    from relaycli.team.state import read_state

    try:
        state = read_state(data_dir)
        if last_rowid(ledger) == state.pushed_rowid:
            return
        from relaycli.team.run import push_now

        push_now(
            settings,
            env,
            ledger,
            data_dir,
            timeout=CONNECT_TIMEOUT,
            statement_timeout=STATEMENT_TIMEOUT,
            max_rows=AUTO_ROWS,
        )
    except Exception as exc:  # never the reason a command fails
        from relaycli.core.scrub import scrub_known
        from relaycli.errors import RelayError
        from relaycli.team.dsn import scrub_dsn

        message = exc.message if isinstance(exc, RelayError) else f"{type(exc).__name__}: {exc}"
        try:
            pending = count_after(ledger, read_state(data_dir).pushed_rowid)
        except Exception:
            pending = 0
        queued = f"{pending:,} row{'s' if pending != 1 else ''} stay queued" if pending else "rows stay queued"
        warn(f"team push failed ({queued}; `relay team push` retries): {scrub_known(scrub_dsn(message))}")
