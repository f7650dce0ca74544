"""MockOptions, the directive syntax and the deterministic answer (pure, no sockets)."""

from __future__ import annotations

import dataclasses

import pytest

from relaycli.mock.answer import HEADER_WORDS, MODEL_IDS, answer_tokens
from relaycli.mock.options import DIRECTIVE_NAMES, MockOptions, canonical, prompt_directives


def test_defaults_are_a_well_behaved_server() -> None:
    opts = MockOptions()
    assert (opts.ttft, opts.token_delay, opts.words, opts.fail, opts.fail_times) == (0.0, 0.0, 40, None, 0)
    assert opts.stop_after is opts.malformed_after is opts.error_after is opts.stall_after is None
    assert not (opts.no_usage or opts.html or opts.reject_stream_options or opts.failing)
    assert opts.require_key is None
    assert opts.directives() == ""


def test_options_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        MockOptions().ttft = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    "text",
    [
        "ttft=0.2,token_delay=0.01,fail=429,retry_after=1,fail_times=1",
        "ttft=0.2; token_delay=0.01; fail=429; retry_after=1; fail_times=1",
        "  ttft=0.2 token-delay=0.01\tfail=429 retry_after=1 FAIL_TIMES=1 ",
    ],
)
def test_parse_directives_accepts_all_separators(text: str) -> None:
    assert MockOptions.parse_directives(text) == {
        "ttft": 0.2,
        "token_delay": 0.01,
        "fail": 429,
        "retry_after": 1.0,
        "fail_times": 1,
    }


def test_parse_directives_types() -> None:
    parsed = MockOptions.parse_directives(
        "words=3 no_usage html=false should_retry=off require_key=sk-test seed=7 keepalive=0.5"
    )
    assert parsed == {
        "words": 3,
        "no_usage": True,
        "html": False,
        "should_retry": False,
        "require_key": "sk-test",
        "seed": 7,
        "keepalive": 0.5,
    }
    assert isinstance(parsed["words"], int) and isinstance(parsed["keepalive"], float)


def test_none_clears_optional_knobs_and_fail_zero_means_no_failure() -> None:
    opts = MockOptions(fail=500, stop_after=3, require_key="k")
    cleared = opts.with_directives("fail=0 stop_after=none require_key=none")
    assert (cleared.fail, cleared.stop_after, cleared.require_key) == (None, None, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bogus=1", "unknown mock directive 'bogus'"),
        ("words=many", "expects int"),
        ("ttft=-1", ">= 0"),
        ("fail=42", "HTTP status"),
        ("ttft", "needs a value"),
        ("html=maybe", "expects bool"),
        ("token_delay=nan", "finite"),
    ],
)
def test_parse_directives_rejects_bad_input(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MockOptions.parse_directives(text)


def test_every_field_is_a_directive() -> None:
    assert set(DIRECTIVE_NAMES) == {f.name for f in dataclasses.fields(MockOptions)}


def test_with_directives_copies_and_round_trips() -> None:
    base = MockOptions(words=10)
    opts = base.with_directives("fail=503,retry_after=2.5,fail_times=2,no_usage")
    assert base == MockOptions(words=10)
    assert (opts.words, opts.fail, opts.retry_after, opts.fail_times, opts.no_usage) == (10, 503, 2.5, 2, True)
    assert MockOptions().with_directives(opts.directives()) == opts
    assert opts.failing


def test_failing_property() -> None:
    assert MockOptions(fail=429).failing
    assert MockOptions(html=True).failing
    assert MockOptions(html=True, fail=200).failing
    assert not MockOptions(fail=200).failing
    assert not MockOptions(fail=0).failing


def test_canonical_is_order_independent() -> None:
    a = MockOptions.parse_directives("fail=429 fail_times=1")
    b = MockOptions.parse_directives("fail_times=1,fail=429")
    assert canonical(a) == canonical(b) == "fail=429,fail_times=1"
    assert canonical({}) == ""


def test_prompt_directives() -> None:
    text = "[[mock: stop_after=5]] hello [[ MOCK:words=3 ]] world"
    assert [d.strip() for d in prompt_directives(text)] == ["stop_after=5", "words=3"]
    assert prompt_directives("no directive [[here]]") == []
    assert prompt_directives("plain") == []


def test_answer_tokens_are_deterministic_words_with_leading_spaces() -> None:
    tokens = answer_tokens(3, "hello world", 0, 12, complete=True)
    assert len(tokens) == 12
    assert "".join(tokens).startswith("Mock answer to 3 messages:")
    assert tokens[0] == "Mock" and all(t.startswith(" ") and " " not in t[1:] for t in tokens[1:])
    assert tokens[-1].endswith(".")
    assert tokens == answer_tokens(3, "hello world", 0, 12, complete=True)
    assert tokens != answer_tokens(3, "hello world!", 0, 12, complete=True)
    assert tokens != answer_tokens(3, "hello world", 1, 12, complete=True)
    assert answer_tokens(3, "hello world", 0, 12, complete=False)[:11] == tokens[:11]
    assert not answer_tokens(3, "hello world", 0, 12, complete=False)[-1].endswith(".")


def test_short_answers() -> None:
    assert answer_tokens(1, "x", 0, 0, complete=True) == ()
    assert answer_tokens(1, "x", 0, 2, complete=False) == ("Mock", " answer")
    assert len(answer_tokens(1, "x", 0, HEADER_WORDS, complete=True)) == HEADER_WORDS


def test_served_models() -> None:
    assert {
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4o-mini",
        "o4-mini",
        "claude-sonnet-4-5",
        "claude-haiku-4-5",
        "deepseek-chat",
        "mock-unpriced",
    } == MODEL_IDS
