"""Every command ends quietly with 0 when the reader of its stdout goes away (`relay log | head -1`)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from relaycli.config.profile import Profile
from relaycli.datatypes import Result, Timing, Usage
from relaycli.ledger import Ledger
from relaycli.pipeline.recording import build_row
from relaycli.usage.prices import PriceTable


def test_long_output_into_a_closed_pipe_ends_with_0(relay_env: dict[str, str]) -> None:
    home = Path(relay_env["RELAY_HOME"])
    profile = Profile(name="mock", base_url="http://127.0.0.1:9/v1")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    prices = PriceTable.load({})
    rows = [
        build_row(
            command="stream",
            profile=profile,
            model_requested=f"gpt-4.1-{n % 50}",
            result=Result(
                text="x", model=None, finish_reason="stop", usage=Usage(10, 20), request_id=None, timing=Timing()
            ),
            outcome="ok",
            error=None,
            prices=prices,
            now=lambda n=n: start + timedelta(hours=n),
        )
        for n in range(4000)
    ]
    with Ledger.open(home / "ledger.db") as ledger:
        ledger.record_many(rows)
    env = {**os.environ, **relay_env}
    for command in (
        "log -n 4000",
        "log -n 4000 --json",
        "cost --by day,model",
        "cost --by day,model --csv",
        "models --names --offline",
    ):
        done = subprocess.run(
            f'{sys.executable} -m relaycli {command} | head -c 20 >/dev/null; echo "${{PIPESTATUS[0]}}"',
            shell=True,
            executable="/bin/bash",
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.stdout.strip() == "0", (command, done.stdout, done.stderr)
        assert done.stderr == "", (command, done.stderr)
