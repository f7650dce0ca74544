"""The local relay speaking OpenAI chat completions over a real loopback socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from relaycli.mock.options import MockOptions
from relaycli.mock.server import MockServer

CHAT = "/v1/chat/completions"
MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "hello there"},
    {"role": "assistant", "content": "hi"},
    {"role": "user", "content": [{"type": "text", "text": "what now"}]},
]
PROMPT_WORDS = 3 + 2 + 1 + 2


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server: MockServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=5) as c:
        yield c


def data_lines(text: str) -> list[str]:
    """The data of every event, in order (comments and blank lines dropped)."""
    return [line[len("data: ") :] for line in text.split("\n") if line.startswith("data: ")]


def stream_chunks(client: httpx.Client, body: dict[str, Any], **headers: str) -> tuple[httpx.Response, str]:
    with client.stream("POST", CHAT, json={**body, "stream": True}, headers=headers) as response:
        return response, response.read().decode()


def test_health(client: httpx.Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_models_list(client: httpx.Client) -> None:
    response = client.get("/v1/models")
    assert response.headers["content-type"] == "application/json"
    doc = response.json()
    assert doc["object"] == "list"
    ids = [m["id"] for m in doc["data"]]
    assert "gpt-4.1" in ids and "claude-sonnet-4-5" in ids and "mock-unpriced" in ids
    assert all(set(m) == {"id", "object", "created", "owned_by"} and m["object"] == "model" for m in doc["data"])


def test_model_retrieve(client: httpx.Client) -> None:
    assert client.get("/v1/models/o4-mini").json()["id"] == "o4-mini"
    missing = client.get("/v1/models/gpt-9")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"


def test_completion(client: httpx.Client) -> None:
    response = client.post(CHAT, json={"model": "gpt-4.1", "messages": MESSAGES})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"].startswith("req_")
    doc = response.json()
    assert doc["object"] == "chat.completion" and doc["model"] == "gpt-4.1"
    (choice,) = doc["choices"]
    text = choice["message"]["content"]
    assert choice["message"]["role"] == "assistant" and choice["finish_reason"] == "stop"
    assert text.startswith("Mock answer to 4 messages:") and text.endswith(".")
    assert len(text.split()) == 40
    assert doc["usage"]["prompt_tokens"] == PROMPT_WORDS
    assert doc["usage"]["completion_tokens"] == 40
    assert doc["usage"]["total_tokens"] == PROMPT_WORDS + 40


def test_answers_are_deterministic_per_prompt(client: httpx.Client) -> None:
    def answer(content: str) -> str:
        body = {"model": "gpt-4.1", "messages": [{"role": "user", "content": content}]}
        return str(client.post(CHAT, json=body).json()["choices"][0]["message"]["content"])

    assert answer("same") == answer("same")
    assert answer("same") != answer("different")


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_truncates_with_length(client: httpx.Client, field: str) -> None:
    doc = client.post(CHAT, json={"model": "gpt-4.1", "messages": MESSAGES, field: 7}).json()
    assert doc["choices"][0]["finish_reason"] == "length"
    assert len(doc["choices"][0]["message"]["content"].split()) == 7
    assert doc["usage"]["completion_tokens"] == 7


def test_stream_is_faithful(client: httpx.Client) -> None:
    body = {"model": "gpt-4.1", "messages": MESSAGES, "stream_options": {"include_usage": True}, "max_tokens": 9}
    response, text = stream_chunks(client, body)
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.headers["x-request-id"].startswith("req_")
    data = data_lines(text)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    contents = [c["choices"][0]["delta"]["content"] for c in chunks[1:10]]
    assert contents[0] == "Mock" and all(w.startswith(" ") for w in contents[1:])
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:10])
    assert chunks[10]["choices"][0]["finish_reason"] == "length" and chunks[10]["choices"][0]["delta"] == {}
    usage_chunk = chunks[11]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["prompt_tokens"] == PROMPT_WORDS
    assert usage_chunk["usage"]["completion_tokens"] == 9
    assert len(chunks) == 12
    non_stream = client.post(CHAT, json={**body, "stream": False, "stream_options": None}).json()
    assert "".join(contents) == non_stream["choices"][0]["message"]["content"]


def test_stream_without_include_usage_has_no_usage(client: httpx.Client) -> None:
    _, text = stream_chunks(client, {"model": "gpt-4o-mini", "messages": MESSAGES})
    chunks = [json.loads(d) for d in data_lines(text)[:-1]]
    assert all("usage" not in c for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert len(chunks) == 1 + 40 + 1


def test_no_usage_ignores_include_usage(client: httpx.Client) -> None:
    body = {"model": "gpt-4.1", "messages": MESSAGES, "stream_options": {"include_usage": True}}
    _, text = stream_chunks(client, body, **{"X-Mock": "no_usage"})
    chunks = [json.loads(d) for d in data_lines(text)[:-1]]
    assert all("usage" not in c for c in chunks) and all(c["choices"] for c in chunks)
    assert data_lines(text)[-1] == "[DONE]"


def test_request_ids_are_unique(client: httpx.Client) -> None:
    ids = {client.get("/v1/models").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


def test_unknown_model(client: httpx.Client) -> None:
    response = client.post(CHAT, json={"model": "gpt-5-ultra", "messages": MESSAGES})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["message"] == "The model `gpt-5-ultra` does not exist"
    assert error["type"] == "invalid_request_error" and error["code"] == "model_not_found"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"messages": MESSAGES}, "model"),
        ({"model": "gpt-4.1"}, "messages"),
        ({"model": "gpt-4.1", "messages": []}, "messages"),
        ({"model": "gpt-4.1", "messages": MESSAGES, "max_tokens": 0}, "max_tokens"),
        ({"model": "gpt-4.1", "messages": MESSAGES, "stream_options": {"include_usage": True}}, "stream_options"),
    ],
)
def test_invalid_requests(client: httpx.Client, body: dict[str, Any], needle: str) -> None:
    response = client.post(CHAT, json=body)
    assert response.status_code == 400
    assert needle in response.json()["error"]["message"]


def test_invalid_json(client: httpx.Client) -> None:
    response = client.post(CHAT, content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"


def test_unknown_path_and_method(client: httpx.Client) -> None:
    response = client.post("/v1/completions", json={})
    assert response.status_code == 404 and "error" in response.json()
    assert client.get("/chat/completions").status_code == 404
    assert client.get(CHAT).status_code == 405
    assert client.post("/v1/models").status_code == 405
    assert client.head("/health").status_code == 405
    assert client.get("/health").status_code == 200  # the connection survived all of that


def test_require_key(server: MockServer) -> None:
    body = {"model": "gpt-4.1", "messages": MESSAGES}
    with httpx.Client(base_url=server.url) as c:
        missing = c.post(CHAT, json=body, headers={"X-Mock": "require_key=sk-right"})
        wrong = c.post(CHAT, json=body, headers={"X-Mock": "require_key=sk-right", "Authorization": "Bearer sk-wrong"})
        right = c.post(CHAT, json=body, headers={"X-Mock": "require_key=sk-right", "Authorization": "Bearer sk-right"})
        models = c.get("/v1/models", headers={"X-Mock": "require_key=sk-right"})
    assert missing.status_code == wrong.status_code == models.status_code == 401
    assert "API key" in missing.json()["error"]["message"]
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    assert right.status_code == 200


def test_reject_stream_options(client: httpx.Client) -> None:
    body = {"model": "gpt-4.1", "messages": MESSAGES, "stream_options": {"include_usage": True}}
    with client.stream("POST", CHAT, json={**body, "stream": True}, headers={"X-Mock": "reject_stream_options"}) as r:
        r.read()
    assert r.status_code == 400 and "stream_options" in r.json()["error"]["message"]
    del body["stream_options"]
    with client.stream("POST", CHAT, json={**body, "stream": True}, headers={"X-Mock": "reject_stream_options"}) as r:
        r.read()
    assert r.status_code == 200


def test_server_level_options(client: httpx.Client) -> None:
    with MockServer(options=MockOptions(words=6)) as srv, httpx.Client(base_url=srv.url) as c:
        doc = c.post(CHAT, json={"model": "deepseek-chat", "messages": MESSAGES}).json()
    assert doc["usage"]["completion_tokens"] == 6
    assert doc["choices"][0]["message"]["content"].endswith(".")
