"""`relay serve --workers 2`: two processes share the port, and on SIGTERM each writes its queued ledger
rows (written off the request path) before it exits, so none is lost."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from tests.serve.gateway import CI_KEY, CI_KEY_ENV, keyed_config, read_rows, start_serve


def test_two_workers_answer_and_lose_no_row_when_stopped(tmp_path: Path, mock_server: Any) -> None:
    serve = start_serve(
        tmp_path / "home",
        keyed_config(mock_server.url),
        "--workers",
        "2",
        env={"RELAY_MOCK_URL": mock_server.url, CI_KEY_ENV: CI_KEY},
    )
    try:
        for n in range(8):
            got = serve.post(
                "/v1/chat/completions",
                {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": f"worker question {n}"}]},
                headers={"X-Relay-Tag": "workers"},
            )
            assert got.status_code == 200, got.text
    finally:
        code = serve.stop(signal.SIGTERM)
    assert code == 143, serve.access_log()
    rows = read_rows(serve.ledger, "alice/workers")
    assert len(rows) == 8 and {row["outcome"] for row in rows} == {"ok"}
    assert "2 worker processes" in serve.access_log()
