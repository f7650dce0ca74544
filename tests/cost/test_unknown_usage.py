"""Token counts an endpoint did not report are unknown in `relay cost`, never 0: "?" (JSON null) when
no request of a row reported them, "N+" when some did; a refused request that reported nothing is a
free error and leaves the counts known."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from relaycli.commands.cost import run as run_cost
from relaycli.context import AppContext
from relaycli.cost.run import CostOptions
from tests.cost.support import CONFIG, Home
from tests.output.support import Terminal, screen_lines

LLAMA = (
    CONFIG
    + """
[profiles.llama]
base_url = "http://127.0.0.1:8080/v1"
"""
)
WHEN = datetime(2026, 11, 3, 12, tzinfo=UTC)


@pytest.fixture
def home(tmp_path: Path) -> Home:
    home = Home(tmp_path / "home", LLAMA)
    for _ in range(11):
        home.record(WHEN, "llama", "qwen2.5-7b", None, None)  # llama.cpp reported no usage
    home.record(WHEN, "relay", "alpha-1", 1_200, 300)
    home.record(WHEN, "relay", "alpha-1", None, None)
    home.record(WHEN, "relay", "alpha-1", None, None, failed=True)  # refused: an error that cost nothing
    home.record(WHEN, "card", "beta-2", 1_000, 50)
    home.record(WHEN, "card", "beta-2", None, None, failed=True)
    return home


def test_json_says_null_when_unknown_and_counts_the_unknown(home: Home) -> None:
    doc = home.cost_json(by="profile", env={"TZ": "UTC"}, now=WHEN)
    rows = {r["profile"]: r for r in doc["rows"]}
    assert rows["llama"]["requests"] == 11
    assert rows["llama"]["prompt_tokens"] is None and rows["llama"]["completion_tokens"] is None
    assert rows["llama"]["prompt_tokens_unknown"] == rows["llama"]["completion_tokens_unknown"] == 11
    assert rows["relay"]["prompt_tokens"] == 1_200 and rows["relay"]["prompt_tokens_unknown"] == 1
    assert rows["card"]["prompt_tokens"] == 1_000 and rows["card"]["prompt_tokens_unknown"] == 0
    assert doc["totals"]["prompt_tokens"] == 2_200 and doc["totals"]["prompt_tokens_unknown"] == 12


def test_csv_leaves_unknown_empty(home: Home) -> None:
    out, _ = home.cost(output="csv", by="profile", env={"TZ": "UTC"}, now=WHEN)
    rows = {r["profile"]: r for r in csv.DictReader(io.StringIO(out))}
    assert rows["llama"]["prompt_tokens"] == "" and rows["llama"]["prompt_tokens_unknown"] == "11"
    assert rows["relay"]["prompt_tokens"] == "1200"


@pytest.mark.parametrize("compact", [False, True])
def test_the_table_shows_unknown_and_partial_sums(home: Home, compact: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    out, err = Terminal(), io.StringIO()
    ctx = AppContext(env={**home.env, "TZ": "UTC"}, stdout=out, stderr=err)
    assert run_cost(ctx, CostOptions(by="profile", compact=compact), now=WHEN) == 0
    lines = {line.split()[0]: line.split() for line in screen_lines(out.getvalue()) if line.strip()}
    in_, out_ = (2, 3) if compact else (4, 6)  # profile, (currency,) requests, (errors,) input ...
    assert lines["llama"][in_] == "?" and lines["llama"][out_] == "?", lines["llama"]
    assert lines["relay"][in_] == ("1.2k+" if compact else "1,200+") and lines["relay"][out_].endswith("+")
    assert lines["card"][in_] == ("1.0k" if compact else "1,000")
    assert [cell for cell in lines["total"] if cell.endswith("+")], lines["total"]  # the overall total


def test_a_stream_that_failed_after_content_is_unknown_not_free(relay_env: dict[str, str]) -> None:
    """Tokens were spent (the answer had begun), but none was reported: unknown, never a free error."""
    import json

    from tests.conftest import run_relay

    for prompt in ("[[mock: error_after=5 no_usage]] hi", "[[mock: malformed_after=5 no_usage]] hi"):
        assert run_relay("stream", "-p", "mock", prompt, env=relay_env).code == 5
    assert run_relay("stream", "-p", "mock", "[[mock: fail=400]] no", env=relay_env).code == 1  # refused: free
    doc = json.loads(run_relay("cost", "--json", env=relay_env).out)
    total = doc["totals"]
    assert total["requests"] == 3 and total["errors"] == 3
    assert total["prompt_tokens"] is None and total["prompt_tokens_unknown"] == 2
    assert total["cached_tokens"] is None and total["cache_write_tokens"] is None  # unknown with the input
    assert total["unpriced_requests"] == 2
