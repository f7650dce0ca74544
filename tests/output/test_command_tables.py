"""`relay log`, `ping`, `models`, `chat --list` and `cost` at 60, 80 and 120 columns: whatever is left
out to fit, every cell shown is whole (names, ids, numbers, money, times) and the columns that tell the
rows apart stay."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from relaycli.config.profile import Profile
from relaycli.datatypes import ModelInfo
from relaycli.errors import AuthError
from relaycli.ledger import LedgerRow
from relaycli.output.streams import Streams
from tests.output.support import Terminal, assert_fits, assert_whole, screen_lines, use_width

WIDTHS = [60, 80, 120]


def streams(out: io.StringIO) -> tuple[Streams, io.StringIO]:
    err = io.StringIO()
    return Streams(io.StringIO(), out, err), err


def log_rows() -> list[LedgerRow]:
    common = {"host": "relay.example.com", "protocol": "openai", "latency_ms": 1834.2, "ttft_ms": 412.0}
    return [
        LedgerRow(
            ts="2026-11-30T14:02:11.123Z",
            command="stream",
            profile="holysheep",
            model_requested="gpt-4.1-mini",
            prompt_tokens=1234,
            completion_tokens=5678,
            cost_billed=Decimal("0.0000644"),
            currency="CNY",
            **common,
        ),
        LedgerRow(
            ts="2026-11-30T14:05:59.000Z",
            command="chat",
            profile="mock-anthropic",
            model_requested="sonnet",
            model_answered="claude-sonnet-4-20250514",
            outcome="error",
            error_class="rate_limited",
            retries=2,
            **common,
        ),
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_log(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from relaycli.log.run import run_log

    use_width(monkeypatch, width)
    out = Terminal()
    io_streams, err = streams(out)
    run_log(log_rows(), io_streams, json_out=False)
    lines = screen_lines(out.getvalue())
    assert_fits(lines, width)
    shown = assert_whole(
        lines,
        [
            {
                "time (UTC)": "11-30 14:02:11",
                "command": "stream",
                "profile": "holysheep",
                "model": "gpt-4.1-mini",
                "in": "1,234",
                "out": "5,678",
                "cost": "¥0.000064",
                "TTFT": "412",
                "ms": "1,834",
                "retry": "0",
            },
            {
                "time (UTC)": "11-30 14:05:59",
                "command": "chat",
                "profile": "mock-anthropic",
                "model": "claude-sonnet-4-20250514",
                "in": "?",
                "out": "?",
                "retry": "2",
            },
        ],
        keep=["time (UTC)", "profile", "model"],
    )
    assert len(shown) < 11 and f"{11 - len(shown)} column" in err.getvalue()
    assert f"left out to fit {width} columns" in err.getvalue()
    assert ("command" in shown and "error (rate_li…" in lines[2]) == (width >= 120)


def ping_reports() -> list[object]:
    from relaycli.ping.run import Attempt, Report

    timings = {"dns": 1.234, "connect": 12.5, "tls": 31.25, "ttfb": 180.5, "total": 226.0}
    ok = Attempt(timings=timings, status=200, auth="ok", models=312)
    refused = Attempt(
        timings=timings,
        status=401,
        auth="rejected",
        error=AuthError(
            "HTTP 401: api.anthropic.com (profile 'direct') rejected the API key; key from env ANTHROPIC_API_KEY: "
            "invalid x-api-key",
            status=401,
        ),
    )
    return [
        Report(Profile("holysheep", "https://relay.example.com/v1"), "env HOLYSHEEP_API_KEY", [ok]),
        Report(
            Profile("direct", "https://api.anthropic.com", protocol="anthropic"), "env ANTHROPIC_API_KEY", [refused]
        ),
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_ping(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from relaycli.ping.report import render

    use_width(monkeypatch, width)
    out = Terminal()
    render(out, ping_reports(), isatty=True)  # type: ignore[arg-type]
    lines = screen_lines(out.getvalue())
    assert_fits(lines, width)
    numbers = {"dns ms": "1.23", "connect ms": "12.5", "tls ms": "31.2", "ttfb ms": "180.5", "total ms": "226.0"}
    assert_whole(
        lines,
        [
            {
                "profile": "holysheep",
                "host": "relay.example.com",
                "status": "200",
                "auth": "ok",
                "models": "312",
                **numbers,
            },
            {
                "profile": "direct",
                "host": "api.anthropic.com",
                "status": "401",
                "auth": "rejected",
                **numbers,
                "error": "HTTP 401",
            },
        ],
        keep=["profile", "host", "auth", "error"],
    )
    assert f"left out to fit {width} columns" in out.getvalue()


def test_ping_error_is_shortened_on_one_line_not_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    from relaycli.ping.report import render

    use_width(monkeypatch, 120)
    out = Terminal()
    render(out, ping_reports(), isatty=True)  # type: ignore[arg-type]
    lines = screen_lines(out.getvalue())
    assert lines[2].endswith("…") and "left out" in lines[3] and len(lines) == 4, lines


@pytest.mark.parametrize("width", WIDTHS)
def test_models(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from relaycli.models.run import run_models
    from relaycli.usage.prices import PriceTable

    use_width(monkeypatch, width)
    profile = Profile(
        "holysheep",
        "https://relay.example.com/v1",
        aliases={"sonnet": "claude-sonnet-4-20250514", "sonnet-4": "claude-sonnet-4-20250514"},
    )
    offered = [
        ModelInfo("claude-sonnet-4-20250514"),
        ModelInfo("gpt-4.1-mini"),
        ModelInfo("meta-llama/llama-3.3-70b-instruct-turbo"),
    ]
    out = Terminal()
    io_streams, err = streams(out)
    run_models(offered, profile, PriceTable.load(), io_streams, search=None, json_out=False)
    lines = screen_lines(out.getvalue())
    assert_fits(lines, width)
    shown = assert_whole(
        lines,
        [
            {
                "model": "claude-sonnet-4-20250514",
                "aliases": "sonnet, sonnet-4",
                "input/1M": "$3",
                "output/1M": "$15",
                "context": "200,000",
            },
            {"model": "gpt-4.1-mini", "input/1M": "$0.4", "output/1M": "$1.6"},
            {"model": "meta-llama/llama-3.3-70b-instruct-turbo"},
        ],
        keep=["model"],
    )
    assert (len(shown) == 6) == (width >= 120) and ("left out" in err.getvalue()) == (width < 120)


@pytest.mark.parametrize("width", WIDTHS)
def test_chat_list(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from relaycli.chat.listing import render_conversations
    from relaycli.ledger.conversations import ConversationInfo, ConversationSummary

    use_width(monkeypatch, width)
    info = ConversationInfo(
        id=1042,
        created="2026-11-30T14:00:00Z",
        updated="2026-11-30T14:22:10Z",
        title="Why does my HTTP/2 connection to the relay stall after exactly one minute",
        profile="holysheep",
        model="claude-sonnet-4-20250514",
        system=None,
    )
    summary = ConversationSummary(info=info, turns=12, billed={"CNY": Decimal("0.0123456")}, unpriced=0)
    out = Terminal()
    io_streams, _ = streams(out)
    render_conversations([summary], io_streams, json_out=False)
    lines = screen_lines(out.getvalue())
    assert_fits(lines, width)
    assert_whole(
        lines,
        [
            {
                "id": "1042",
                "title": "Why does",
                "model": "claude-sonnet-4-20250514",
                "turns": "12",
                "cost": "¥0.0123",
                "last used (UTC)": "2026-11-30 14:22",
            }
        ],
        keep=["id", "title", "model"],
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_cost(width: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from relaycli.commands.cost import run as run_cost
    from relaycli.context import AppContext
    from relaycli.cost.run import CostOptions
    from tests.cost.support import Home

    home = Home(tmp_path / "home")
    when = datetime(2026, 11, 3, 12, tzinfo=UTC)
    home.record(when, "relay", "alpha-1", 1_234_567, 7_654_321, cached=120_000)
    home.record(when, "direct", "beta-2", 2_000_000, 300_000)
    use_width(monkeypatch, width)
    out, err = Terminal(), io.StringIO()
    ctx = AppContext(env={**home.env, "TZ": "UTC"}, stdout=out, stderr=err)
    assert run_cost(ctx, CostOptions(by="month,profile"), now=when) == 0
    lines = screen_lines(out.getvalue())
    assert_fits(lines, width)
    assert_whole(
        lines,
        [
            {"month": "2026-11", "profile": "relay", "input": "1,234,567", "output": "7,654,321"},
            {"month": "2026-11", "profile": "direct", "input": "2,000,000", "output": "300,000"},
        ],
        keep=["month", "profile", "input", "output", "billed"],
    )
    assert ("left out" in err.getvalue()) == (width < 120)


def test_models_title_counts_in_the_singular(monkeypatch: pytest.MonkeyPatch) -> None:
    from relaycli.models.run import run_models
    from relaycli.usage.prices import PriceTable

    use_width(monkeypatch, 120)
    out = Terminal()
    io_streams, _ = streams(out)
    run_models(
        [ModelInfo("gpt-4.1-mini")],
        Profile("p", "https://relay.example.com/v1"),
        PriceTable.load(),
        io_streams,
        search=None,
        json_out=False,
    )
    assert screen_lines(out.getvalue())[0] == "1 model on p (relay.example.com)"


def test_compact_cost_fits_a_60_column_terminal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from relaycli.commands.cost import run as run_cost
    from relaycli.context import AppContext
    from relaycli.cost.run import CostOptions
    from tests.cost.support import Home

    home = Home(tmp_path / "home")
    when = datetime(2026, 11, 3, 12, tzinfo=UTC)
    home.record(when, "relay", "alpha-1", 1_234_567_890, 7_654_321_000, cached=120_000)
    home.record(when, "direct", "beta-2", 2_000_000_000, 300_000_000)
    use_width(monkeypatch, 60)
    out, err = Terminal(), io.StringIO()
    ctx = AppContext(env={**home.env, "TZ": "UTC"}, stdout=out, stderr=err)
    assert run_cost(ctx, CostOptions(by="month,profile,model", compact=True), now=when) == 0
    assert_fits(screen_lines(out.getvalue()), 60)
