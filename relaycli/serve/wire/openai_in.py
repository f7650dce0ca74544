"""An OpenAI chat-completions request body from a client, as an ``Incoming``.

The neutral messages are text: string content, or the text parts of a content array joined with newlines.
System and developer messages are folded into ``system`` (joined with blank lines). Tool messages and
assistant tool calls keep a neutral text message (their text, or ``""``) for relay's ledger and cache key;
they make the request untranslatable, as do image, audio and file parts. A message with neither text nor
anything else is a bad request.

For an Anthropic upstream, ``top_p`` is sent as is, ``stop`` as ``stop_sequences``, ``user`` (or
``safety_identifier``) as ``metadata.user_id``, and the ``top_k`` some servers accept as ``top_k``.
Dropped as harmless: ``store``, ``metadata``, ``service_tier``, ``prompt_cache_key``, ``prediction`` (a
latency hint), ``parallel_tool_calls`` without tools, and fields holding their default value (``n`` 1,
``logprobs`` false, ``response_format`` text, ``modalities`` text, zero penalties, an empty ``logit_bias``,
``tool_choice`` none or auto without tools). Any other field, a temperature above Anthropic's maximum of 1
and a final assistant message (which Anthropic would continue rather than answer) make the request
untranslatable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from relaycli.datatypes import Message, Role
from relaycli.serve.wire import checks
from relaycli.serve.wire.common import BadRequest, Incoming

_PART_KINDS = {"image_url": "image content", "input_audio": "audio content", "file": "file content"}
_NEUTRAL = frozenset({"model", "messages", "stream", "stream_options", "temperature", "max_tokens"})
_HARMLESS = frozenset({"store", "metadata", "service_tier", "prompt_cache_key", "prediction", "parallel_tool_calls"})
_DEFAULTS: dict[str, Any] = {
    "n": 1,
    "logprobs": False,
    "top_logprobs": 0,
    "response_format": {"type": "text"},
    "modalities": ["text"],
    "frequency_penalty": 0,
    "presence_penalty": 0,
    "logit_bias": {},
    "tools": [],
    "functions": [],
}


def parse_openai(body: Any) -> Incoming:
    """Parse a ``POST /v1/chat/completions`` body; ``BadRequest`` for one the API would refuse."""
    obj = checks.body_object(body)
    model = checks.model_name(obj)
    stream = checks.opt_bool(obj, "stream")
    temperature = checks.opt_number(obj, "temperature")
    max_tokens = checks.opt_int(obj, "max_tokens", minimum=1)
    max_completion = checks.opt_int(obj, "max_completion_tokens", minimum=1)
    options = checks.opt_object(obj, "stream_options") or {}
    include_usage = options.get("include_usage") or False
    if not isinstance(include_usage, bool):
        raise BadRequest("stream_options.include_usage: must be true or false", "stream_options.include_usage")
    systems, messages, blocker = _messages(checks.message_list(obj))
    if not messages:
        raise BadRequest("messages: at least one user or assistant message is required", "messages")
    if blocker is None and messages[-1].role == "assistant":
        blocker = "a final assistant message (Anthropic would continue it rather than answer)"
    if blocker is None and temperature is not None and temperature > 1:
        blocker = "a temperature above 1 (Anthropic's maximum)"
    portable, field_blocker = _portable(obj)
    return Incoming(
        protocol="openai",
        model=model,
        stream=stream,
        messages=tuple(messages),
        system="\n\n".join(systems) if systems else None,
        temperature=temperature,
        max_tokens=max_completion if max_completion is not None else max_tokens,
        include_usage=include_usage,
        untranslatable=blocker or field_blocker,
        body=obj,
        portable=portable,
    )


def _messages(raw: list[Any]) -> tuple[list[str], list[Message], str | None]:
    """(system texts, neutral messages, the first reason found that they cannot be translated)."""
    systems: list[str] = []
    messages: list[Message] = []
    blocker: str | None = None
    for i, m in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise BadRequest(f"{where}: must be an object", where)
        role = m.get("role")
        if role in ("system", "developer"):
            text, reason = _content(m.get("content"), where, optional=False)
            if text:
                systems.append(text)
        elif role in ("user", "assistant", "tool", "function"):
            text, reason = _content(m.get("content"), where, optional=role == "assistant")
            if role in ("tool", "function"):
                reason = "tool results"
            elif m.get("tool_calls") or m.get("function_call"):
                reason = "tool calls"
            elif m.get("audio"):
                reason = reason or "audio content"
            if not text and reason is None:
                raise BadRequest(f"{where}.content: a message needs content", f"{where}.content")
            neutral: Role = "assistant" if role == "assistant" else "user"
            messages.append(Message(neutral, text))
        else:
            raise BadRequest(f"{where}.role: unknown role {role!r}", f"{where}.role")
        if role not in ("tool", "function") and m.get("name") is not None:
            reason = reason or "participant names"
        blocker = blocker or reason
    return systems, messages, blocker


def _content(content: Any, where: str, *, optional: bool) -> tuple[str, str | None]:
    """(the text of a message's content, why the rest of it cannot be translated)."""
    return checks.content_text(content, where, untranslatable=_PART_KINDS, pieces="parts", optional=optional)


def _portable(obj: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The fields an Anthropic upstream gets, and the first field that keeps the request from it."""
    out: dict[str, Any] = {}
    tools = bool(obj.get("tools") or obj.get("functions"))
    for name, value in obj.items():
        if name in _NEUTRAL or value is None or name in _HARMLESS:
            continue
        if name in _DEFAULTS and checks.is_default(value, _DEFAULTS[name]):
            continue
        translate = _TRANSLATE.get(name)
        if translate is not None:
            translate(obj, out)
        elif name in ("tools", "functions"):
            return out, "tools"
        elif name in ("tool_choice", "function_call"):
            if tools or value not in ("none", "auto"):
                return out, "tools"
        else:
            return out, f"the field '{name}'"
    return out, None


def _top_p(obj: dict[str, Any], out: dict[str, Any]) -> None:
    out["top_p"] = checks.opt_number(obj, "top_p")


def _top_k(obj: dict[str, Any], out: dict[str, Any]) -> None:
    out["top_k"] = checks.opt_int(obj, "top_k")


def _stop(obj: dict[str, Any], out: dict[str, Any]) -> None:
    stops = checks.string_list(obj["stop"], "stop")
    if stops:
        out["stop_sequences"] = stops


def _user(obj: dict[str, Any], out: dict[str, Any]) -> None:
    for name in ("user", "safety_identifier"):
        if obj.get(name) is not None and not isinstance(obj[name], str):
            raise BadRequest(f"{name}: must be a string", name)
    user = obj.get("user") or obj.get("safety_identifier")  # user first, whichever order they came in
    if user:
        out["metadata"] = {"user_id": user}


_TRANSLATE: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    "top_p": _top_p,
    "top_k": _top_k,
    "stop": _stop,
    "max_completion_tokens": lambda obj, out: None,  # the neutral max_tokens
    "user": _user,
    "safety_identifier": _user,
}
