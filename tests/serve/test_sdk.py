"""The official OpenAI and Anthropic SDKs as `relay serve`'s clients, in front of the built-in mock relay:
what they get through serve is what they get from the mock directly (text, usage, finish reasons), across
protocols too; a broken upstream stream is never an answer the SDK calls complete; every request has its
ledger row (command serve, the client's tag), and ``/v1/usage`` says what ``relay cost --json`` says."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import anthropic
import openai
import pytest

from tests.conftest import run_relay

from .conftest import Gateway
from .gateway import ALICE_KEY, CI_KEY

OPENAI_MODEL = "gpt-4.1-mini"
CLAUDE_MODEL = "claude-haiku-4-5"
SYSTEM = "You answer briefly."


@dataclass(frozen=True)
class Said:
    """An answer as an SDK reports it, in neutral terms."""

    text: str
    finish: str | None  # OpenAI's finish_reason, or Anthropic's stop_reason mapped to it
    prompt_tokens: int | None
    completion_tokens: int | None


_STOP_TO_FINISH = {"end_turn": "stop", "max_tokens": "length", "stop_sequence": "stop"}


def unique(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}"


def openai_client(base_url: str, key: str = "unused", tag: str | None = None) -> openai.OpenAI:
    headers = {"X-Relay-Tag": tag} if tag else None
    return openai.OpenAI(base_url=base_url, api_key=key, default_headers=headers, max_retries=0, timeout=10)


def anthropic_client(base_url: str, key: str = "unused", tag: str | None = None) -> anthropic.Anthropic:
    headers = {"X-Relay-Tag": tag} if tag else None
    return anthropic.Anthropic(base_url=base_url, api_key=key, default_headers=headers, max_retries=0, timeout=10)


def ask_openai(client: openai.OpenAI, model: str, prompt: str, *, stream: bool, max_tokens: int | None) -> Said:
    messages: list[Any] = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]
    cap: dict[str, Any] = {} if max_tokens is None else {"max_tokens": max_tokens}
    if not stream:
        got = client.chat.completions.create(model=model, messages=messages, **cap)
        assert got.usage is not None
        return Said(
            got.choices[0].message.content or "",
            got.choices[0].finish_reason,
            got.usage.prompt_tokens,
            got.usage.completion_tokens,
        )
    text, finish, usage = [], None, None
    for chunk in client.chat.completions.create(
        model=model, messages=messages, stream=True, stream_options={"include_usage": True}, **cap
    ):
        for choice in chunk.choices:
            text.append(choice.delta.content or "")
            finish = choice.finish_reason or finish
        usage = chunk.usage or usage
    return Said(
        "".join(text),
        finish,
        usage.prompt_tokens if usage else None,
        usage.completion_tokens if usage else None,
    )


def ask_anthropic(
    client: anthropic.Anthropic, model: str, prompt: str, *, stream: bool, max_tokens: int | None
) -> Said:
    args: dict[str, Any] = {
        "model": model,
        "system": SYSTEM,
        "max_tokens": max_tokens or 1000,
        "messages": [{"role": "user", "content": prompt}],
    }
    if stream:
        with client.messages.stream(**args) as events:
            message = events.get_final_message()
    else:
        message = client.messages.create(**args)
    text = "".join(block.text for block in message.content if block.type == "text")
    finish = _STOP_TO_FINISH.get(message.stop_reason or "", message.stop_reason)
    return Said(text, finish, message.usage.input_tokens, message.usage.output_tokens)


def ask(client: openai.OpenAI | anthropic.Anthropic, model: str, prompt: str, **kw: Any) -> Said:
    if isinstance(client, openai.OpenAI):
        return ask_openai(client, model, prompt, **kw)
    return ask_anthropic(client, model, prompt, **kw)


# -- the same answers as the mock gives directly --------------------------------------------------------

CASES = [
    # (SDK through serve, model asked for, SDK straight to the mock) — the same protocol, then across
    ("openai", OPENAI_MODEL, "openai"),
    ("anthropic", CLAUDE_MODEL, "anthropic"),
    ("openai", CLAUDE_MODEL, "anthropic"),  # [serve.routes] "claude-*" = "mock-anthropic"
    ("anthropic", OPENAI_MODEL, "openai"),  # [serve.routes] "gpt-*" = "mock"
]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize(("sdk", "model", "direct"), CASES, ids=[f"{c[0]}-sdk-{c[1]}" for c in CASES])
@pytest.mark.parametrize("max_tokens", [None, 8], ids=["full", "capped"])
def test_sdk_gets_what_the_upstream_gives(
    gateway: Gateway, sdk: str, model: str, direct: str, stream: bool, max_tokens: int | None
) -> None:
    tag = unique("parity")
    prompt = f"Tell me about {tag}."
    serve, mock = gateway.serve, gateway.mock
    via = (
        openai_client(serve.url + "/v1", ALICE_KEY, tag)
        if sdk == "openai"
        else anthropic_client(serve.url, ALICE_KEY, tag)
    )
    straight = openai_client(mock.url + "/v1") if direct == "openai" else anthropic_client(mock.url)

    got = ask(via, model, prompt, stream=stream, max_tokens=max_tokens)
    want = ask(straight, model, prompt, stream=stream, max_tokens=max_tokens)

    assert want == ask(straight, model, prompt, stream=not stream, max_tokens=max_tokens)  # deterministic
    assert want.text.startswith("Mock answer to 2 messages:")  # the system prompt arrived as one
    assert got == want
    assert got.finish == ("length" if max_tokens else "stop")
    [row] = serve.wait_rows(f"alice/{tag}", 1)
    assert (row["command"], row["outcome"], row["model_requested"]) == ("serve", "ok", model)
    assert row["profile"] == ("mock-anthropic" if model.startswith("claude") else "mock")
    assert (row["prompt_tokens"], row["completion_tokens"]) == (want.prompt_tokens, want.completion_tokens)


def test_a_repeated_question_is_answered_from_the_cache(gateway: Gateway) -> None:
    tag = unique("cache")
    client = openai_client(gateway.serve.url + "/v1", ALICE_KEY, tag)
    first = ask_openai(client, OPENAI_MODEL, f"cache {tag}", stream=False, max_tokens=None)
    again = ask_openai(client, OPENAI_MODEL, f"cache {tag}", stream=True, max_tokens=None)
    assert again.text == first.text
    assert again.finish == "stop"
    rows = gateway.serve.wait_rows(f"alice/{tag}", 2)
    assert [row["outcome"] for row in rows] == ["ok", "ok"]
    assert rows[1]["cost_usd"] == 0 and rows[0]["cost_usd"]  # the hit cost nothing


# -- a broken upstream stream -----------------------------------------------------------------------------


BROKEN = "[[mock: stop_after=6]]"  # six words, then the mock closes the connection: no end of the answer


@pytest.mark.parametrize("model", [OPENAI_MODEL, CLAUDE_MODEL])
def test_openai_sdk_never_takes_a_broken_stream_for_a_whole_answer(gateway: Gateway, model: str) -> None:
    tag = unique("broken")
    client = openai_client(gateway.serve.url + "/v1", ALICE_KEY, tag)
    messages: Any = [{"role": "user", "content": f"{tag} {BROKEN}"}]
    text, finishes = [], []
    with pytest.raises(openai.APIError) as raised:
        for chunk in client.chat.completions.create(model=model, messages=messages, stream=True):
            for choice in chunk.choices:
                text.append(choice.delta.content or "")
                finishes.append(choice.finish_reason)
    assert "".join(text).startswith("Mock answer to 1 messages:")  # some text came first
    assert not any(finishes)
    assert "broke off" in str(raised.value)
    [row] = gateway.serve.wait_rows(f"alice/{tag}", 1)
    assert row["outcome"] == "truncated"
    assert row["finish_reason"] is None
    line = gateway.serve.log_line(tag)
    assert " 200 " in line and "broke off" in line and "client left" not in line


@pytest.mark.parametrize("model", [CLAUDE_MODEL, OPENAI_MODEL])
def test_anthropic_sdk_never_takes_a_broken_stream_for_a_whole_answer(gateway: Gateway, model: str) -> None:
    tag = unique("broken")
    client = anthropic_client(gateway.serve.url, ALICE_KEY, tag)
    seen: list[str] = []
    with pytest.raises(anthropic.APIError):  # noqa: SIM117 - the events are read inside
        with client.messages.stream(
            model=model, max_tokens=100, messages=[{"role": "user", "content": f"{tag} {BROKEN}"}]
        ) as events:
            for event in events:
                seen.append(event.type)
    assert "content_block_delta" in seen or "text" in seen
    assert "message_stop" not in seen
    [row] = gateway.serve.wait_rows(f"alice/{tag}", 1)
    assert row["outcome"] == "truncated"


@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
def test_a_whole_answer_from_a_broken_stream_is_an_error(gateway: Gateway, sdk: str) -> None:
    """Not streamed to the client, relay still reads the upstream's stream: a cut one is a 502, not a text
    (the profiles reached as ``once-*`` do not retry; the other protocol's, to translate as well)."""
    tag = unique("broken-whole")
    prompt = f"{tag} {BROKEN}"
    serve = gateway.serve
    raised: pytest.ExceptionInfo[openai.APIStatusError] | pytest.ExceptionInfo[anthropic.APIStatusError]
    if sdk == "openai":
        with pytest.raises(openai.APIStatusError) as raised:
            openai_client(serve.url + "/v1", ALICE_KEY, tag).chat.completions.create(
                model="once-claude", messages=[{"role": "user", "content": prompt}]
            )
    else:
        with pytest.raises(anthropic.APIStatusError) as raised:
            anthropic_client(serve.url, ALICE_KEY, tag).messages.create(
                model="once-gpt", max_tokens=100, messages=[{"role": "user", "content": prompt}]
            )
    assert raised.value.status_code == 502
    assert "broke off" in str(raised.value)
    [row] = serve.wait_rows(f"alice/{tag}", 1)
    assert row["outcome"] == "truncated"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("sdk", ["openai", "anthropic"])
def test_an_upstream_refusal_is_the_sdks_error_with_its_status(gateway: Gateway, sdk: str, stream: bool) -> None:
    """The upstream's 4xx before any answer (streamed or not) reaches the SDK as that status, in its format."""
    tag = unique("refused")
    serve = gateway.serve
    prompt = f"{tag} [[mock: fail=400]]"
    raised: pytest.ExceptionInfo[openai.APIStatusError] | pytest.ExceptionInfo[anthropic.APIStatusError]
    if sdk == "openai":
        with pytest.raises(openai.BadRequestError) as raised:
            openai_client(serve.url + "/v1", ALICE_KEY, tag).chat.completions.create(
                model=CLAUDE_MODEL, messages=[{"role": "user", "content": prompt}], stream=stream
            )
    else:
        with pytest.raises(anthropic.BadRequestError) as raised:
            anthropic_client(serve.url, ALICE_KEY, tag).messages.create(
                model=OPENAI_MODEL, max_tokens=100, messages=[{"role": "user", "content": prompt}], stream=stream
            )
    assert "rejected the request" in str(raised.value)
    [row] = serve.wait_rows(f"alice/{tag}", 1)
    assert (row["outcome"], row["http_status"]) == ("error", 400)


# -- the ledger and /v1/usage ----------------------------------------------------------------------------


def test_every_request_has_its_row_with_the_clients_tag(gateway: Gateway) -> None:
    serve = gateway.serve
    tag = unique("tagged")
    asked = 0
    for sdk, key in (("openai", ALICE_KEY), ("anthropic", CI_KEY)):
        for stream in (False, True):
            for model in (OPENAI_MODEL, CLAUDE_MODEL):
                client = (
                    openai_client(serve.url + "/v1", key, tag)
                    if sdk == "openai"
                    else anthropic_client(serve.url, key, tag)
                )
                ask(client, model, f"{tag} {sdk} {stream} {model}", stream=stream, max_tokens=None)
                asked += 1
    rows = serve.wait_rows(f"alice/{tag}", asked // 2) + serve.wait_rows(f"ci/{tag}", asked // 2)
    assert len(rows) == asked
    assert {row["command"] for row in rows} == {"serve"}
    assert {row["outcome"] for row in rows} == {"ok"}

    # the key's name alone when the client sends no tag
    before = len(serve.rows("ci"))
    ask(anthropic_client(serve.url, CI_KEY), CLAUDE_MODEL, unique("untagged"), stream=False, max_tokens=None)
    assert len(serve.wait_rows("ci", before + 1)) == before + 1


def test_usage_endpoint_says_what_relay_cost_says(gateway: Gateway) -> None:
    serve = gateway.serve
    tag = unique("usage")
    for model in (OPENAI_MODEL, CLAUDE_MODEL):
        ask_openai(openai_client(serve.url + "/v1", ALICE_KEY, tag), model, tag, stream=True, max_tokens=None)
    serve.wait_rows(f"alice/{tag}", 2)
    for by in ("month", "model", "profile"):
        got = serve.get("/v1/usage", params={"by": by})
        assert got.status_code == 200, got.text
        usage = got.json()
        ran = run_relay("cost", "--json", "--by", by, env={"RELAY_HOME": str(serve.home)})
        assert ran.code == 0, ran.err
        cost = json.loads(ran.out)
        latency = usage.pop("latency")
        assert usage == cost
        assert latency["requests"] >= 2
        assert latency["latency_ms"]["p50"] is not None
