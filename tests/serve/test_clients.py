"""Two more clients of `relay serve`: ``relay stream`` itself (a profile whose base URL is serve's), and
Anthropic's token counter through serve (to the mock relay's ``/v1/messages/count_tokens``)."""

from __future__ import annotations

import uuid

import anthropic
import httpx
import openai
import pytest

from tests.conftest import run_relay
from tests.integration.support import write_config

from .conftest import Gateway
from .gateway import ALICE_KEY


def _client_config(gateway: Gateway, tag: str) -> str:
    lines = []
    for name, protocol, base in (("via-openai", "openai", "/v1"), ("via-anthropic", "anthropic", "")):
        lines += [
            f"[profiles.{name}]",
            f'base_url = "{gateway.serve.url}{base}"',
            f'protocol = "{protocol}"',
            f'api_key = "{ALICE_KEY}"',
            'default_model = "gpt-4.1-mini"',
            f'headers = {{ "X-Relay-Tag" = "{tag}" }}',
            "retries = 0",
            "",
        ]
    return "\n".join(lines)


@pytest.mark.parametrize(("profile", "model"), [("via-openai", "claude-haiku-4-5"), ("via-anthropic", "gpt-4.1-mini")])
def test_relay_stream_through_relay_serve(
    gateway: Gateway, relay_env: dict[str, str], profile: str, model: str
) -> None:
    tag = f"relay-stream-{uuid.uuid4().hex[:8]}"
    write_config(relay_env, _client_config(gateway, tag))
    prompt = f"through the gateway {tag}"
    ran = run_relay("stream", "-p", profile, "-m", model, prompt, env=relay_env)
    assert ran.code == 0, ran.err
    direct = openai.OpenAI(base_url=gateway.mock.url + "/v1", api_key="unused").chat.completions.create(
        model="gpt-4.1-mini", messages=[{"role": "user", "content": prompt}]
    )
    assert ran.out.strip() == direct.choices[0].message.content
    [row] = gateway.serve.wait_rows(f"alice/{tag}", 1)  # the gateway's row
    assert (row["command"], row["outcome"], row["model_requested"]) == ("serve", "ok", model)
    assert row["finish_reason"] in ("stop", "end_turn")


def test_count_tokens_through_serve_is_the_mocks_input_count(gateway: Gateway) -> None:
    messages: list[anthropic.types.MessageParam] = [
        {"role": "user", "content": "count these few words please"},
        {"role": "assistant", "content": "sure"},
        {"role": "user", "content": [{"type": "text", "text": "and these"}]},
    ]
    via = anthropic.Anthropic(base_url=gateway.serve.url, api_key=ALICE_KEY, max_retries=0)
    direct = anthropic.Anthropic(base_url=gateway.mock.url, api_key="unused", max_retries=0)
    answered = direct.messages.create(model="claude-haiku-4-5", max_tokens=5, system="be brief", messages=messages)
    for model in ("claude-haiku-4-5", "claude-sonnet-4-5", "once-claude"):  # a route, and an alias
        counted = via.messages.count_tokens(model=model, system="be brief", messages=messages)
        assert counted.input_tokens == answered.usage.input_tokens == 10


def test_count_tokens_for_a_model_served_by_an_openai_profile_is_a_404(gateway: Gateway) -> None:
    via = anthropic.Anthropic(base_url=gateway.serve.url, api_key=ALICE_KEY, max_retries=0)
    with pytest.raises(anthropic.NotFoundError) as raised:
        via.messages.count_tokens(model="gpt-4.1-mini", messages=[{"role": "user", "content": "hi"}])
    assert "offered by Anthropic profiles only" in str(raised.value)
    got = httpx.post(
        gateway.serve.url + "/v1/messages/count_tokens",
        json={"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]},
        headers={"x-api-key": ALICE_KEY},
    )
    assert got.status_code == 404
    assert got.json()["type"] == "error" and got.json()["error"]["type"] == "not_found_error"
