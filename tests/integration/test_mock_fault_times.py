"""The local relay's ``fail_times`` limits its stream faults too, and ``reasoning=N`` streams reasoning
deltas first: what the retry tests build on."""

from __future__ import annotations

import json

import httpx
import pytest


def _stream(url: str, directives: str, *, path: str = "/v1/chat/completions") -> str:
    body = {"model": "gpt-4.1-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"x-mock": directives}
    if path == "/v1/messages":
        body = {**body, "model": "claude-haiku-4-5", "max_tokens": 100}
        headers["anthropic-version"] = "2023-06-01"
    try:
        with httpx.stream("POST", url + path, json=body, headers=headers, timeout=5) as response:
            return "".join(response.iter_text())
    except (httpx.RemoteProtocolError, httpx.ReadError):
        return "<cut>"


@pytest.mark.parametrize("fault", ["stop_after=2", "malformed_after=2", "error_after=2", "reset_after=2"])
def test_fail_times_limits_a_stream_fault_to_the_first_requests(mock_server: object, fault: str) -> None:
    url = mock_server.url  # type: ignore[attr-defined]
    directives = f"{fault} fail_times=1 seed=9001"
    first, second = _stream(url, directives), _stream(url, directives)
    assert _well_formed(second) and not _well_formed(first)


def _well_formed(body: str) -> bool:
    """Every event is JSON (or [DONE]), none is an error, and the stream ends with [DONE]."""
    data = [line[6:] for line in body.splitlines() if line.startswith("data: ")]
    try:
        events = [json.loads(d) for d in data if d != "[DONE]"]
    except ValueError:
        return False
    return bool(data) and data[-1] == "[DONE]" and not any("error" in e for e in events)


def test_reasoning_deltas_come_before_the_answer(mock_server: object) -> None:
    url = mock_server.url  # type: ignore[attr-defined]
    events = [line[6:] for line in _stream(url, "reasoning=3 words=6").splitlines() if line.startswith("data: {")]
    deltas = [json.loads(e)["choices"][0]["delta"] for e in events if json.loads(e)["choices"]]
    kinds = [next((k for k in ("reasoning_content", "content") if d.get(k)), None) for d in deltas]
    assert kinds[1:5] == ["reasoning_content"] * 3 + ["content"]
    anthropic = _stream(url, "reasoning=2 words=6", path="/v1/messages")
    assert anthropic.count('"thinking_delta"') == 2
    assert anthropic.index("thinking_delta") < anthropic.index("text_delta")
