"""A scriptable upstream for both protocols (on ``tests/integration/loopback.py``'s raw server): it records
every request it gets, and answers by the model's last word, echoing the API key it was sent.

=============  ===============================================================================
``ok``         a plain answer ("echo answer"), streamed or whole
``error``      401 with the key in the error body, and in an ``X-Echo-Key`` header
``text``       200 with the key in the answer's text (streamed or whole), and in the header
(any)          ``count_tokens``: 200 with the key in the answer (``error``: the 401 above)
=============  ===============================================================================
"""

from __future__ import annotations

import json
import threading
from typing import Any

from tests.integration.loopback import Request, Writer

ANSWER = "echo answer"


class EchoUpstream:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._lock = threading.Lock()

    def __call__(self, req: Request, out: Writer) -> None:
        with self._lock:
            self.requests.append(req)
        anthropic = req.path.startswith("/v1/messages")
        key = req.headers.get("x-api-key") or req.headers.get("authorization", "").removeprefix("Bearer ")
        try:
            body: dict[str, Any] = json.loads(req.body or b"{}")
        except ValueError:
            body = {}
        model = str(body.get("model", ""))
        mode = model.rsplit("-", 1)[-1]
        echo = {"X-Echo-Key": key}
        if mode == "error":  # count_tokens too
            error = {"type": "authentication_error" if anthropic else "invalid_request_error", "message": f"bad {key}"}
            data = json.dumps({"type": "error", "error": error} if anthropic else {"error": error}).encode()
            out.head(401, {"Content-Type": "application/json", "Content-Length": str(len(data)), **echo})
            out.write(data)
            return
        if req.path.endswith("/count_tokens"):
            data = json.dumps({"input_tokens": 3, "note": f"counted for {key}"}).encode()
            out.head(200, {"Content-Type": "application/json", "Content-Length": str(len(data)), **echo})
            out.write(data)
            return
        text = f"your key is {key}" if mode == "text" else ANSWER
        if body.get("stream"):
            out.head(200, {"Content-Type": "text/event-stream", **echo})
            out.write(b"".join(_anthropic_stream(model, text) if anthropic else _openai_stream(model, text)))
            return
        whole = _anthropic_whole(model, text) if anthropic else _openai_whole(model, text)
        out.head(200, {"Content-Type": "application/json", "Content-Length": str(len(whole)), **echo})
        out.write(whole)


def _usage(anthropic: bool) -> dict[str, int]:
    return {"input_tokens": 3, "output_tokens": 4} if anthropic else {"prompt_tokens": 3, "completion_tokens": 4}


def _openai_whole(model: str, text: str) -> bytes:
    choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
    doc = {"id": "chatcmpl-echo", "object": "chat.completion", "created": 1, "model": model, "choices": [choice]}
    return json.dumps({**doc, "usage": {**_usage(False), "total_tokens": 7}}).encode()


def _openai_stream(model: str, text: str) -> list[bytes]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **more: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        doc = {"id": "chatcmpl-echo", "object": "chat.completion.chunk", "created": 1, "model": model}
        return b"data: " + json.dumps({**doc, "choices": [choice], **more}).encode() + b"\n\n"

    return [
        chunk({"role": "assistant", "content": ""}),
        *(chunk({"content": part}) for part in _parts(text)),
        chunk({}, "stop", usage={**_usage(False), "total_tokens": 7}),
        b"data: [DONE]\n\n",
    ]


def _anthropic_whole(model: str, text: str) -> bytes:
    doc = {
        "id": "msg_echo",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": _usage(True),
    }
    return json.dumps(doc).encode()


def _anthropic_stream(model: str, text: str) -> list[bytes]:
    def event(name: str, data: dict[str, Any]) -> bytes:
        return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n".encode()

    message = {"id": "msg_echo", "type": "message", "role": "assistant", "model": model, "content": []}
    return [
        event("message_start", {"message": {**message, "usage": {"input_tokens": 3, "output_tokens": 1}}}),
        event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        *(event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": p}}) for p in _parts(text)),
        event("content_block_stop", {"index": 0}),
        event("message_delta", {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 4}}),
        event("message_stop", {}),
    ]


def _parts(text: str) -> list[str]:
    """The text in a few deltas, split inside words (a key split across events is still the key)."""
    step = max(len(text) // 3, 1)
    return [text[i : i + step] for i in range(0, len(text), step)]
