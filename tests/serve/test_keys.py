"""Client keys and upstream keys through `relay serve`: a missing or wrong client key is a 401 in the path's
protocol; a valid one (hashed in the config, or from an env variable) works; the client's key never goes
upstream, the profile's key never comes back to the client (error bodies, answer text, headers), and no
key is ever in the access log. Listening beyond loopback needs client keys."""

from __future__ import annotations

import uuid
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.conftest import run_relay

from .conftest import Gateway
from .gateway import ALICE_KEY, CI_KEY, UPSTREAM_KEY, hashed, sse_events
from .upstream import ANSWER

OPENAI_BODY = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "keys"}]}
ANTHROPIC_BODY = {"model": "claude-haiku-4-5", "max_tokens": 20, "messages": [{"role": "user", "content": "keys"}]}
KEY_PARTS = ("LEAKY-9d2c4e", "alice-5f1e0c", "ci-77ab03")  # the distinctive part of every key in play


def _raw(gateway: Gateway, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(gateway.serve.url + path, json=body, headers=headers, timeout=10)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer sk-wrong"}, {"x-api-key": "sk-wrong"}, {"Authorization": f"Basic {ALICE_KEY}"}],
    ids=["none", "wrong-bearer", "wrong-x-api-key", "not-bearer"],
)
def test_a_missing_or_wrong_client_key_is_a_401_in_the_paths_protocol(
    gateway: Gateway, headers: dict[str, str]
) -> None:
    got = _raw(gateway, "/v1/chat/completions", OPENAI_BODY, headers)
    assert got.status_code == 401
    error = got.json()["error"]
    assert "client key is required" in error["message"]
    assert error["type"] == "authentication_error" or error["type"] == "invalid_request_error"

    got = _raw(gateway, "/v1/messages", ANTHROPIC_BODY, {"anthropic-version": "2023-06-01", **headers})
    assert got.status_code == 401
    doc = got.json()
    assert doc["type"] == "error" and doc["error"]["type"] == "authentication_error"

    for path in ("/v1/models", "/v1/usage"):
        assert httpx.get(gateway.serve.url + path, headers=headers).status_code == 401
    assert httpx.get(gateway.serve.url + "/health", headers=headers).status_code == 200  # no key needed


def test_the_sdks_see_a_bad_key_as_an_authentication_error(gateway: Gateway) -> None:
    url = gateway.serve.url
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=url + "/v1", api_key="sk-wrong", max_retries=0).chat.completions.create(
            model="gpt-4.1-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(base_url=url, api_key="sk-wrong", max_retries=0).messages.create(
            model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )


@pytest.mark.parametrize(("key", "name"), [(ALICE_KEY, "alice"), (CI_KEY, "ci")])
def test_a_valid_client_key_works_either_way_it_is_sent(gateway: Gateway, key: str, name: str) -> None:
    tag = f"valid-{uuid.uuid4().hex[:8]}"
    for headers in ({"Authorization": f"Bearer {key}"}, {"x-api-key": key}):
        got = _raw(gateway, "/v1/chat/completions", OPENAI_BODY, {**headers, "X-Relay-Tag": tag})
        assert got.status_code == 200, got.text
    assert len(gateway.serve.wait_rows(f"{name}/{tag}", 2)) == 2


def test_relay_serve_hash_key_makes_the_configs_hash() -> None:
    ran = run_relay("serve", "--hash-key", input=ALICE_KEY + "\n")
    assert ran.code == 0, ran.err
    assert ran.out.strip() == hashed(ALICE_KEY)  # the form the gateway's config holds


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.7"])
def test_listening_beyond_loopback_without_client_keys_is_refused(host: str) -> None:
    ran = run_relay("serve", "--host", host, "--port", "0", "-p", "mock", timeout=20)
    assert ran.code == 2, (ran.out, ran.err)
    assert ran.out == ""
    assert f"will not listen on {host} without client keys" in ran.err
    assert "relay serve --hash-key" in ran.err


# -- keys between serve and the upstream -------------------------------------------------------------------


def _upstream_calls(gateway: Gateway, marker: str) -> list[Any]:
    return [req for req in gateway.echo.requests if marker.encode() in req.body]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_the_client_key_never_goes_upstream(gateway: Gateway, stream: bool) -> None:
    marker = f"forward-{uuid.uuid4().hex[:8]}"
    url = gateway.serve.url
    oai = openai.OpenAI(base_url=url + "/v1", api_key=ALICE_KEY, max_retries=0)
    ant = anthropic.Anthropic(base_url=url, api_key=CI_KEY, max_retries=0)
    messages: Any = [{"role": "user", "content": marker}]
    for model in ("echo-openai-ok", "echo-anthropic-ok"):
        got = oai.chat.completions.create(model=model, messages=messages, stream=stream)
        text = (
            got.choices[0].message.content
            if not stream
            else "".join(  # type: ignore[union-attr]
                c.choices[0].delta.content or ""
                for c in got
                if c.choices  # type: ignore[union-attr]
            )
        )
        assert text == ANSWER
        reply = ant.messages.create(
            model=model,
            max_tokens=20,
            messages=messages,
            stream=stream,
            extra_headers={"anthropic-beta": "tools-2024-05-16"},
        )
        if stream:
            assert "message_stop" in [event.type for event in reply]  # type: ignore[union-attr]
        else:
            assert reply.content[0].text == ANSWER  # type: ignore[union-attr]
    calls = _upstream_calls(gateway, marker)
    assert len(calls) == 4
    for call in calls:
        sent = " ".join(f"{k}: {v}" for k, v in call.headers.items())
        assert ALICE_KEY not in sent and CI_KEY not in sent
        assert UPSTREAM_KEY in (call.headers.get("x-api-key"), call.headers.get("authorization", "")[7:])
    # an Anthropic client's anthropic-beta reaches an Anthropic upstream unchanged
    assert [c.headers.get("anthropic-beta") for c in calls if c.path.startswith("/v1/messages")] == [
        None,  # the OpenAI client's request, translated
        "tools-2024-05-16",
    ]


LEAKS = [
    (path, model, stream)
    for path in ("/v1/chat/completions", "/v1/messages", "/v1/messages/count_tokens")
    for model in ("echo-openai-error", "echo-openai-text", "echo-anthropic-error", "echo-anthropic-text")
    for stream in (False, True)
    if not (path.endswith("count_tokens") and (stream or "openai" in model))
]


@pytest.mark.parametrize(("path", "model", "stream"), LEAKS)
def test_the_upstream_key_never_reaches_the_client(gateway: Gateway, path: str, model: str, stream: bool) -> None:
    """The upstream echoes the key it got in an error body, in a 200 answer's text (split across stream
    events) and in a header."""
    prompt = f"leak {uuid.uuid4().hex[:8]}"  # never a cached answer
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": prompt}]}
    if not path.endswith("count_tokens"):
        body["stream"] = stream
    if path == "/v1/messages":
        body["max_tokens"] = 50
    headers = {"Authorization": f"Bearer {ALICE_KEY}", "anthropic-version": "2023-06-01"}
    got = _raw(gateway, path, body, headers)
    seen = got.text + " ".join(f"{k}: {v}" for k, v in got.headers.items())
    assert "LEAKY-9d2c4e" not in seen, seen
    if model.endswith("error"):
        assert got.status_code == 502, got.text  # relay's own message: the upstream refused relay's key
        assert "***" in got.text or "LEAKY" not in got.text
    else:
        assert got.status_code == 200, got.text
        assert "***" in got.text  # the key's place, masked
        if stream:
            assert sse_events(got.text)


def test_no_key_is_ever_in_the_access_log(gateway: Gateway) -> None:
    """Every request this process made so far (the other tests' too) left its line; no key is in any."""
    test_the_upstream_key_never_reaches_the_client(gateway, "/v1/messages", "echo-anthropic-error", False)
    log = gateway.serve.access_log()
    assert "echo-anthropic-error" in log
    for part in KEY_PARTS:
        assert part not in log
