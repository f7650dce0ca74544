"""`relay log` marks requests answered from the response cache, and its JSON carries what they saved."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from relaycli.ledger import Ledger, LedgerRow
from relaycli.log.run import run_log
from relaycli.log.view import log_rows
from relaycli.output.streams import Streams
from tests.conftest import run_relay
from tests.cost.support import Home
from tests.output.support import Terminal, screen_lines, use_width

WHEN = datetime(2026, 11, 30, 14, 2, 11, tzinfo=UTC)


def _rows() -> list[LedgerRow]:
    common = {"command": "stream", "host": "relay.example.com", "protocol": "openai", "currency": "CNY"}
    return [
        LedgerRow(
            ts="2026-11-30T14:02:11.123Z",
            profile="holysheep",
            model_requested="gpt-4.1-mini",
            prompt_tokens=1234,
            completion_tokens=5678,
            cost_usd=Decimal(0),
            cost_billed=Decimal(0),
            cached=True,
            saved_usd=Decimal("0.0000644"),
            saved_billed=Decimal("0.00047012"),
            **common,  # type: ignore[arg-type]
        ),
        LedgerRow(
            ts="2026-11-30T14:03:00.000Z",
            profile="holysheep",
            model_requested="gpt-4.1-mini",
            prompt_tokens=1234,
            completion_tokens=5678,
            cost_usd=Decimal("0.0000644"),
            cost_billed=Decimal("0.00047012"),
            **common,  # type: ignore[arg-type]
        ),
    ]


@pytest.mark.parametrize("width", [80, 120])
def test_the_table_marks_cached_rows(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    use_width(monkeypatch, width)
    out, err = Terminal(), io.StringIO()
    run_log(_rows(), Streams(io.StringIO(), out, err), json_out=False)
    lines = screen_lines(out.getvalue())
    cached, sent = (line for line in lines if line.startswith("11-30"))
    assert "ok·cached" in cached and "¥0.00" in cached
    assert "cached" not in sent and " ok " in f"{sent} "


def test_piped_table_and_json_carry_the_cache_fields() -> None:
    out = io.StringIO()
    run_log(_rows(), Streams(io.StringIO(), out, io.StringIO()), json_out=False)
    header, cached, sent = (line.split("\t") for line in out.getvalue().splitlines())
    assert cached[header.index("outcome")] == "ok·cached" and sent[header.index("outcome")] == "ok"
    hit, plain = log_rows(_rows())
    assert (hit["cached"], hit["cost_usd"], hit["saved_usd"], hit["saved_billed"]) == (
        True,
        "0",
        "0.0000644",
        "0.00047012",
    )
    assert (plain["cached"], plain["saved_usd"], plain["saved_billed"]) == (False, None, None)
    assert json.loads(json.dumps(hit)) == hit  # plain JSON: strings, numbers, booleans


def test_relay_log_reads_cached_rows_from_the_ledger(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    home.record(WHEN, "relay", "alpha-1", 10_000, 1_000, hit=True)  # 10k x $2 + 1k x $8 = $0.028 saved
    home.record(WHEN, "relay", "zz-house-unpriced", 10, 10, hit=True)
    with Ledger.open(home.path / "ledger.db") as ledger:
        assert ledger.count() == 2
    ran = run_relay("log", "--json", env=home.env)
    assert ran.code == 0, ran.err
    first, second = json.loads(ran.out)["rows"]
    assert (first["cached"], first["cost_usd"], first["saved_usd"], first["saved_billed"]) == (
        True,
        "0",
        "0.028",
        "0.028",
    )
    assert (second["cached"], second["cost_billed"], second["saved_usd"]) == (True, "0", None)
    ran = run_relay("log", env=home.env)
    assert ran.code == 0 and ran.out.count("ok·cached") == 2
