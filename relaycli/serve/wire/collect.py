"""A non-streaming response assembled from the raw events of an upstream stream of the same protocol (relay
always streams from the upstream; a client that did not ask to stream gets the assembled object).

Each function takes the data fields of the events in order and returns the response body the upstream
would have answered without streaming, or ``None`` when the events do not hold a complete answer (no
finish or stop reason, an error event, a malformed event, tool input that is not JSON).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

_HEAD = ("id", "created", "model", "system_fingerprint", "service_tier")
_TEXTS = ("content", "refusal", "reasoning_content", "reasoning")


def _load(data: str) -> dict[str, Any] | None:
    try:
        obj = json.loads(data)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


@dataclass
class _Call:
    """One tool call being assembled from its deltas."""

    id: str | None = None
    type: str = "function"
    name: str = ""
    arguments: list[str] = field(default_factory=list)

    def add(self, part: dict[str, Any]) -> None:
        if isinstance(part.get("id"), str):
            self.id = part["id"]
        if isinstance(part.get("type"), str):
            self.type = part["type"]
        fn = part.get("function") if "function" in part else part
        if not isinstance(fn, dict):
            return
        name = fn.get("name")
        if isinstance(name, str) and name != self.name:
            self.name += name  # sent once; a server that repeats the whole name each time is not doubled
        if isinstance(fn.get("arguments"), str):
            self.arguments.append(fn["arguments"])

    def function(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": "".join(self.arguments)}


@dataclass
class _Choice:
    """One choice being assembled from its deltas."""

    role: str = "assistant"
    texts: dict[str, list[str]] = field(default_factory=dict)
    calls: dict[int, _Call] = field(default_factory=dict)
    function_call: _Call | None = None
    annotations: list[Any] = field(default_factory=list)
    logprobs: dict[str, list[Any]] | None = None
    finish_reason: str | None = None

    def add(self, choice: dict[str, Any]) -> None:
        delta = choice.get("delta")
        if isinstance(delta, dict):
            self._delta(delta)
        logprobs = choice.get("logprobs")
        if isinstance(logprobs, dict):
            merged = self.logprobs if self.logprobs is not None else {}
            for key, items in logprobs.items():
                if isinstance(items, list):
                    merged.setdefault(key, []).extend(items)
            self.logprobs = merged
        if isinstance(choice.get("finish_reason"), str):
            self.finish_reason = choice["finish_reason"]

    def _delta(self, delta: dict[str, Any]) -> None:
        if isinstance(delta.get("role"), str):
            self.role = delta["role"]
        for key in _TEXTS:
            if isinstance(delta.get(key), str):
                self.texts.setdefault(key, []).append(delta[key])
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            for part in calls:
                if isinstance(part, dict):
                    index = part.get("index")
                    slot = index if isinstance(index, int) else len(self.calls)
                    self.calls.setdefault(slot, _Call()).add(part)
        if isinstance(delta.get("function_call"), dict):
            self.function_call = self.function_call or _Call()
            self.function_call.add(delta["function_call"])
        if isinstance(delta.get("annotations"), list):
            self.annotations.extend(delta["annotations"])

    def message(self) -> dict[str, Any]:
        calls = [self.calls[i] for i in sorted(self.calls)]
        tooled = bool(calls) or self.function_call is not None
        content = "".join(self.texts["content"]) if "content" in self.texts else (None if tooled else "")
        refusal = "".join(self.texts["refusal"]) if "refusal" in self.texts else None
        message: dict[str, Any] = {"role": self.role, "content": content, "refusal": refusal}
        for key in ("reasoning_content", "reasoning"):
            if key in self.texts:
                message[key] = "".join(self.texts[key])
        if calls:
            message["tool_calls"] = [{"id": c.id, "type": c.type, "function": c.function()} for c in calls]
        if self.function_call is not None:
            message["function_call"] = self.function_call.function()
        if self.annotations:
            message["annotations"] = self.annotations
        return message


def collect_openai(events: list[str]) -> dict[str, Any] | None:
    """A ``chat.completion`` from ``chat.completion.chunk`` data (``[DONE]`` may be among them or not):
    every choice's content, refusal, reasoning text and tool calls (arguments joined per index)."""
    head: dict[str, Any] = {}
    choices: dict[int, _Choice] = {}
    usage: dict[str, Any] | None = None
    for data in events:
        if not data.strip() or data.strip() == "[DONE]":
            continue
        obj = _load(data)
        if obj is None or obj.get("error") or obj.get("object") == "error":
            return None
        for key in _HEAD:
            if obj.get(key) is not None and (key not in head or key == "model"):
                head[key] = obj[key]
        if isinstance(obj.get("usage"), dict):
            usage = obj["usage"]
        for choice in obj.get("choices") or ():
            if isinstance(choice, dict):
                index = choice.get("index", 0)
                choices.setdefault(index if isinstance(index, int) else 0, _Choice()).add(choice)
    if not choices or any(c.finish_reason is None for c in choices.values()):
        return None
    body: dict[str, Any] = {
        "id": head.get("id"),
        "object": "chat.completion",
        "created": head.get("created"),
        "model": head.get("model"),
        "choices": [
            {
                "index": i,
                "message": choices[i].message(),
                "logprobs": choices[i].logprobs,
                "finish_reason": choices[i].finish_reason,
            }
            for i in sorted(choices)
        ],
    }
    if usage is not None:
        body["usage"] = usage
    for key in ("system_fingerprint", "service_tier"):
        if key in head:
            body[key] = head[key]
    return body


def collect_anthropic(events: list[str]) -> dict[str, Any] | None:
    """A ``message`` from messages-stream event data: text, tool_use (input parsed from the
    ``input_json_delta`` pieces), thinking (with its signature) and other blocks in index order; stop
    reason and sequence; usage from ``message_start`` updated by ``message_delta``."""
    message: dict[str, Any] | None = None
    usage: dict[str, Any] = {}
    blocks: dict[int, dict[str, Any]] = {}
    pieces: dict[int, list[str]] = {}
    for data in events:
        if not data.strip():
            continue
        obj = _load(data)
        if obj is None:
            return None
        kind = obj.get("type")
        if kind == "error":
            return None
        if kind == "message_start" and isinstance(obj.get("message"), dict):
            message = dict(obj["message"])
            usage = dict(message.get("usage") or {})
            for i, block in enumerate(message.get("content") or ()):
                if isinstance(block, dict):
                    blocks[i] = dict(block)
        elif kind == "content_block_start" and isinstance(obj.get("content_block"), dict):
            index = obj.get("index")
            if not isinstance(index, int):
                return None
            blocks[index] = dict(obj["content_block"])
        elif kind == "content_block_delta":
            index = obj.get("index")
            delta = obj.get("delta")
            if not isinstance(index, int) or index not in blocks or not isinstance(delta, dict):
                return None
            block = blocks[index]
            _block_delta(block, delta, pieces.setdefault(index, []))
        elif kind == "message_delta":
            if message is None:
                return None
            delta = obj.get("delta")
            if isinstance(delta, dict):
                message.update(delta)
            if isinstance(obj.get("usage"), dict):
                usage.update((k, v) for k, v in obj["usage"].items() if v is not None)
    if message is None or message.get("stop_reason") is None:
        return None
    for index, parts in pieces.items():
        text = "".join(parts)
        if text.strip():
            try:
                blocks[index]["input"] = json.loads(text)
            except ValueError:
                return None
    message["content"] = [blocks[i] for i in sorted(blocks)]
    message["usage"] = usage
    return message


def _block_delta(block: dict[str, Any], delta: dict[str, Any], pieces: list[str]) -> None:
    kind = delta.get("type")
    if kind == "text_delta":
        block["text"] = block.get("text", "") + str(delta.get("text", ""))
    elif kind == "input_json_delta":
        pieces.append(str(delta.get("partial_json", "")))
    elif kind == "thinking_delta":
        block["thinking"] = block.get("thinking", "") + str(delta.get("thinking", ""))
    elif kind == "signature_delta":
        block["signature"] = block.get("signature", "") + str(delta.get("signature", ""))
    elif kind == "citations_delta" and "citation" in delta:
        block.setdefault("citations", []).append(delta["citation"])
