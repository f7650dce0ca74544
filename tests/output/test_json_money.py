"""Money in `relay models --json` and `relay chat --list --json` is an exact decimal string."""

from __future__ import annotations

import io
import json
from decimal import Decimal

from relaycli.config.profile import Profile
from relaycli.datatypes import ModelInfo
from relaycli.output.money import decimal_string
from relaycli.output.streams import Streams
from relaycli.usage.prices import PriceTable


def test_decimal_strings_have_no_exponent() -> None:
    assert decimal_string(Decimal("6.44E-5")) == "0.0000644"
    assert decimal_string(Decimal("100.00")) == "100" and decimal_string(Decimal("2.50")) == "2.5"
    assert decimal_string(None) is None


def test_models_json_prices_are_decimal_strings() -> None:
    from relaycli.models.run import run_models

    prices = PriceTable.load({"tiny-model": {"input": 0.0000644, "output": 8, "cached_input": 0.5}})
    out = io.StringIO()
    run_models(
        [ModelInfo("tiny-model"), ModelInfo("gpt-4.1-mini"), ModelInfo("nobody-knows")],
        Profile("p", "https://relay.example.com/v1"),
        prices,
        Streams(io.StringIO(), out, io.StringIO()),
        search=None,
        json_out=True,
    )
    assert "e-" not in out.getvalue()
    models = {m["id"]: m for m in json.loads(out.getvalue())["models"]}
    assert models["tiny-model"]["price"] | {"source": None} == {
        "input": "0.0000644",
        "output": "8",
        "cached_input": "0.5",
        "source": None,
    }
    assert models["gpt-4.1-mini"]["price"]["input"] == "0.4" and models["nobody-knows"]["price"] is None


def test_chat_list_json_costs_are_decimal_strings() -> None:
    from relaycli.chat.listing import render_conversations
    from relaycli.ledger.conversations import ConversationInfo, ConversationSummary

    info = ConversationInfo(
        id=7,
        created="2026-11-30T14:00:00Z",
        updated="2026-11-30T14:22:10Z",
        title="hi",
        profile="mock",
        model="gpt-4.1-mini",
        system=None,
    )
    summaries = [ConversationSummary(info=info, turns=1, billed={"USD": Decimal("0.0000644")}, unpriced=0)]
    out = io.StringIO()
    render_conversations(summaries, Streams(io.StringIO(), out, io.StringIO()), json_out=True)
    assert json.loads(out.getvalue())["conversations"][0]["cost"]["billed"] == {"USD": "0.0000644"}
