"""An Anthropic messages request body from a client, as an ``Incoming``.

``system`` may be a string or an array of text blocks; message content a string or an array of blocks,
whose text blocks are joined with newlines into the neutral message. Image, document, tool-use,
tool-result, thinking and other blocks leave the neutral text as it is (``""`` when there is none) and make
the request untranslatable. A message with neither text nor any other block is a bad request.

For an OpenAI upstream, ``top_p`` is sent as is, ``stop_sequences`` as ``stop`` and ``metadata.user_id``
as ``user``. Dropped as harmless: ``service_tier``, ``cache_control`` markers on blocks, ``thinking`` when
disabled and ``tool_choice`` auto or none without tools. Any other field (``tools``, enabled ``thinking``,
``top_k``...) and a final assistant message (a prefill, which an OpenAI model would answer rather than
continue) make the request untranslatable.
"""

from __future__ import annotations

from typing import Any

from relaycli.datatypes import Message
from relaycli.serve.wire import checks
from relaycli.serve.wire.common import BadRequest, Incoming

_BLOCK_KINDS = {
    "image": "image content",
    "document": "documents",
    "tool_use": "tool calls",
    "server_tool_use": "tool calls",
    "tool_result": "tool results",
    "thinking": "thinking blocks",
    "redacted_thinking": "thinking blocks",
    "search_result": "search results",
}
_NEUTRAL = frozenset({"model", "messages", "system", "max_tokens", "temperature", "stream"})
_HARMLESS = frozenset({"service_tier"})


def parse_anthropic(body: Any) -> Incoming:
    """Parse a ``POST /v1/messages`` body; ``BadRequest`` for one the API would refuse (``max_tokens``
    is required)."""
    obj = checks.body_object(body)
    model = checks.model_name(obj)
    if obj.get("max_tokens") is None:
        raise BadRequest("max_tokens: a maximum number of output tokens is required", "max_tokens")
    max_tokens = checks.opt_int(obj, "max_tokens", minimum=1)
    stream = checks.opt_bool(obj, "stream")
    temperature = checks.opt_number(obj, "temperature")
    system = _system(obj.get("system"))
    messages, blocker = _messages(checks.message_list(obj))
    if blocker is None and messages[-1].role == "assistant":
        blocker = "a final assistant message (a prefill, which an OpenAI model would answer rather than continue)"
    portable, field_blocker = _portable(obj)
    return Incoming(
        protocol="anthropic",
        model=model,
        stream=stream,
        messages=tuple(messages),
        system=system or None,
        temperature=temperature,
        max_tokens=max_tokens,
        include_usage=True,
        untranslatable=blocker or field_blocker,
        body=obj,
        portable=portable,
    )


def _system(system: Any) -> str:
    if system is None or isinstance(system, str):
        return system or ""
    if not isinstance(system, list):
        raise BadRequest("system: must be a string or an array of text blocks", "system")
    texts: list[str] = []
    for j, block in enumerate(system):
        at = f"system[{j}]"
        if not isinstance(block, dict) or block.get("type") != "text":
            raise BadRequest(f"{at}: system blocks must be text blocks", at)
        texts.append(checks.text_field(block, at))
    return "\n".join(texts)


def _messages(raw: list[Any]) -> tuple[list[Message], str | None]:
    messages: list[Message] = []
    blocker: str | None = None
    for i, m in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise BadRequest(f"{where}: must be an object", where)
        role = m.get("role")
        if role not in ("user", "assistant"):
            raise BadRequest(f"{where}.role: must be 'user' or 'assistant', not {role!r}", f"{where}.role")
        text, reason = _content(m.get("content"), where)
        if not text and reason is None:
            raise BadRequest(f"{where}.content: a message needs content", f"{where}.content")
        messages.append(Message("user" if role == "user" else "assistant", text))
        blocker = blocker or reason
    return messages, blocker


def _content(content: Any, where: str) -> tuple[str, str | None]:
    """(the text of a message's content, why the rest of it cannot be translated)."""
    return checks.content_text(content, where, untranslatable=_BLOCK_KINDS, pieces="blocks")


def _portable(obj: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The fields an OpenAI upstream gets, and the first field that keeps the request from it."""
    out: dict[str, Any] = {}
    tools = bool(obj.get("tools"))
    for name, value in obj.items():
        if name in _NEUTRAL or value is None or name in _HARMLESS:
            continue
        if name == "top_p":
            out["top_p"] = checks.opt_number(obj, "top_p")
        elif name == "stop_sequences":
            stops = checks.string_list(value, "stop_sequences")
            if stops:
                out["stop"] = stops
        elif name == "metadata":
            user = (checks.opt_object(obj, "metadata") or {}).get("user_id")
            if isinstance(user, str) and user:
                out["user"] = user
        elif name == "tools":
            if value != []:
                return out, "tools"
        elif name == "tool_choice":
            if tools or not isinstance(value, dict) or value.get("type") not in ("auto", "none"):
                return out, "tools"
        elif name == "thinking":
            if not isinstance(value, dict) or value.get("type") != "disabled":
                return out, "extended thinking"
        else:
            return out, f"the field '{name}'"
    return out, None
