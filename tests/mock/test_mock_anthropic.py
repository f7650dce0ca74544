"""The local relay speaking the Anthropic messages API over a real loopback socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from relaycli.mock.server import MockServer

VERSION = {"anthropic-version": "2023-06-01"}
MESSAGES = [
    {"role": "user", "content": "hello there"},
    {"role": "assistant", "content": [{"type": "text", "text": "hi"}]},
    {"role": "user", "content": "tell me more"},
]
BODY: dict[str, Any] = {"model": "claude-sonnet-4-5", "max_tokens": 1024, "system": "Be brief.", "messages": MESSAGES}
PROMPT_WORDS = 2 + 2 + 1 + 3


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server: MockServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=5, headers=VERSION) as c:
        yield c


def events(text: str) -> list[tuple[str, Any]]:
    """(event name, parsed data) for every event of an Anthropic stream."""
    out: list[tuple[str, Any]] = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((fields["event"], json.loads(fields["data"])))
    return out


def stream(client: httpx.Client, body: dict[str, Any], **headers: str) -> tuple[httpx.Response, str]:
    with client.stream("POST", "/v1/messages", json={**body, "stream": True}, headers=headers) as response:
        return response, response.read().decode()


def test_models_in_anthropic_shape(client: httpx.Client) -> None:
    doc = client.get("/v1/models").json()
    assert doc["has_more"] is False
    assert doc["first_id"] == doc["data"][0]["id"] and doc["last_id"] == doc["data"][-1]["id"]
    sonnet = next(m for m in doc["data"] if m["id"] == "claude-sonnet-4-5")
    assert sonnet == {
        "type": "model",
        "id": "claude-sonnet-4-5",
        "display_name": "Claude Sonnet 4.5",
        "created_at": "2025-09-29T00:00:00Z",
    }
    assert client.get("/v1/models/claude-haiku-4-5").json()["type"] == "model"


def test_message(client: httpx.Client) -> None:
    response = client.post("/v1/messages", json=BODY)
    assert response.status_code == 200
    assert response.headers["request-id"].startswith("req_")
    doc = response.json()
    assert doc["type"] == "message" and doc["role"] == "assistant" and doc["id"].startswith("msg_")
    assert doc["stop_reason"] == "end_turn" and doc["stop_sequence"] is None
    (block,) = doc["content"]
    assert block["type"] == "text" and block["text"].startswith("Mock answer to 4 messages:")
    assert doc["usage"] == {
        "input_tokens": PROMPT_WORDS,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 40,
    }


def test_max_tokens_stop_reason(client: httpx.Client) -> None:
    doc = client.post("/v1/messages", json={**BODY, "max_tokens": 5}).json()
    assert doc["stop_reason"] == "max_tokens" and doc["usage"]["output_tokens"] == 5
    assert doc["content"][0]["text"] == "Mock answer to 4 messages:"


def test_stream_is_faithful(client: httpx.Client) -> None:
    response, text = stream(client, {**BODY, "max_tokens": 8})
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["request-id"].startswith("req_")
    evs = events(text)
    names = [name for name, _ in evs]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * 8,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(data["type"] == name for name, data in evs)
    start = evs[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None and start["model"] == "claude-sonnet-4-5"
    assert start["usage"] == {
        "input_tokens": PROMPT_WORDS,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 1,
    }
    assert evs[1][1]["content_block"] == {"type": "text", "text": ""}
    deltas = [data["delta"] for name, data in evs if name == "content_block_delta"]
    assert all(d["type"] == "text_delta" for d in deltas)
    assert (
        "".join(d["text"] for d in deltas)
        == client.post("/v1/messages", json={**BODY, "max_tokens": 8}).json()["content"][0]["text"]
    )
    delta = evs[-2][1]
    assert delta["delta"]["stop_reason"] == "max_tokens" and delta["usage"] == {"output_tokens": 8}


def test_stream_end_turn_and_no_usage(client: httpx.Client) -> None:
    _, text = stream(client, BODY, **{"X-Mock": "words=3 no_usage"})
    evs = events(text)
    assert "usage" not in evs[0][1]["message"]
    assert evs[-2][1]["delta"]["stop_reason"] == "end_turn" and "usage" not in evs[-2][1]


def test_system_counts_as_a_message(client: httpx.Client) -> None:
    without = client.post("/v1/messages", json={**BODY, "system": None}).json()
    as_blocks = client.post("/v1/messages", json={**BODY, "system": [{"type": "text", "text": "Be brief."}]}).json()
    assert without["content"][0]["text"].startswith("Mock answer to 3 messages:")
    assert without["usage"]["input_tokens"] == PROMPT_WORDS - 2
    assert as_blocks["content"][0]["text"].startswith("Mock answer to 4 messages:")


def test_unknown_model(client: httpx.Client) -> None:
    response = client.post("/v1/messages", json={**BODY, "model": "claude-9"})
    assert response.status_code == 404
    assert response.json() == {"type": "error", "error": {"type": "not_found_error", "message": "model: claude-9"}}


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"max_tokens": None}, "max_tokens"),
        ({"messages": [{"role": "system", "content": "x"}, *MESSAGES]}, "system"),
        ({"messages": []}, "messages"),
    ],
)
def test_invalid_requests(client: httpx.Client, change: dict[str, Any], needle: str) -> None:
    body = {k: v for k, v in {**BODY, **change}.items() if v is not None}
    response = client.post("/v1/messages", json=body)
    assert response.status_code == 400
    doc = response.json()
    assert doc["type"] == "error" and doc["error"]["type"] == "invalid_request_error"
    assert needle in doc["error"]["message"]


def test_anthropic_version_is_required(server: MockServer) -> None:
    response = httpx.post(server.url + "/v1/messages", json=BODY)
    assert response.status_code == 400 and "anthropic-version" in response.json()["error"]["message"]


def test_require_key_uses_x_api_key(client: httpx.Client) -> None:
    mock = {"X-Mock": "require_key=sk-ant-right"}
    missing = client.post("/v1/messages", json=BODY, headers=mock)
    bearer = client.post("/v1/messages", json=BODY, headers={**mock, "Authorization": "Bearer sk-ant-right"})
    wrong = client.post("/v1/messages", json=BODY, headers={**mock, "x-api-key": "sk-ant-wrong"})
    right = client.post("/v1/messages", json=BODY, headers={**mock, "x-api-key": "sk-ant-right"})
    for response in (missing, bearer, wrong):
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "authentication_error"
    assert right.status_code == 200
    models = client.get("/v1/models", headers={**mock, "x-api-key": "sk-ant-right"})
    assert models.status_code == 200 and "has_more" in models.json()


@pytest.mark.parametrize(
    ("status", "err_type"),
    [(429, "rate_limit_error"), (500, "api_error"), (529, "overloaded_error"), (401, "authentication_error")],
)
def test_fail_bodies(client: httpx.Client, status: int, err_type: str) -> None:
    response = client.post("/v1/messages", json=BODY, headers={"X-Mock": f"fail={status}"})
    assert response.status_code == status
    assert response.json()["type"] == "error" and response.json()["error"]["type"] == err_type
    assert response.headers["request-id"].startswith("req_")


def test_error_event_in_stream(client: httpx.Client) -> None:
    _, text = stream(client, BODY, **{"X-Mock": "error_after=2"})
    evs = events(text)
    assert [name for name, _ in evs][-3:] == ["content_block_delta", "content_block_delta", "error"]
    assert evs[-1][1] == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
