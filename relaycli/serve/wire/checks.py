"""Type checks for client bodies: each returns the value when it has the type a field needs and raises
``BadRequest`` naming the field when it does not. ``null`` counts as absent for optional fields."""

from __future__ import annotations

from typing import Any

from relaycli.serve.wire.common import BadRequest


def body_object(body: Any) -> dict[str, Any]:
    """The request body, which must be a JSON object."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def model_name(body: dict[str, Any]) -> str:
    """``model``: a non-empty string."""
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise BadRequest("model: a model name is required", "model")
    return model


def message_list(body: dict[str, Any]) -> list[Any]:
    """``messages``: a non-empty array."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages: a non-empty array of messages is required", "messages")
    return messages


def opt_bool(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise BadRequest(f"{name}: must be true or false", name)
    return value


def opt_number(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"{name}: must be a number", name)
    return value


def opt_int(body: dict[str, Any], name: str, *, minimum: int = 0) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{name}: must be an integer", name)
    if value < minimum:
        raise BadRequest(f"{name}: must be at least {minimum}", name)
    return value


def opt_object(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadRequest(f"{name}: must be an object", name)
    return value


def string_list(value: Any, name: str) -> list[str]:
    """A string or an array of strings, as a list."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise BadRequest(f"{name}: must be a string or an array of strings", name)


def text_field(part: dict[str, Any], where: str, key: str = "text") -> str:
    """The text of a text part or block."""
    text = part.get(key)
    if not isinstance(text, str):
        raise BadRequest(f"{where}.{key}: must be a string", f"{where}.{key}")
    return text


def content_text(
    content: Any, where: str, *, untranslatable: dict[str, str], pieces: str, optional: bool = False
) -> tuple[str, str | None]:
    """(the text of a message's content: a string, or its text ``pieces`` ("parts", "blocks") joined by line
    breaks; why the rest of it cannot be translated: ``untranslatable`` names a piece's type, else its type
    does). ``optional``: no content at all is an empty text."""
    if isinstance(content, str):
        return content, None
    if content is None and optional:
        return "", None
    if not isinstance(content, list):
        raise BadRequest(f"{where}.content: must be a string or an array of content {pieces}", f"{where}.content")
    texts: list[str] = []
    reason: str | None = None
    for j, piece in enumerate(content):
        at = f"{where}.content[{j}]"
        if not isinstance(piece, dict) or not isinstance(piece.get("type"), str):
            raise BadRequest(f"{at}: must be an object with a type", at)
        kind = piece["type"]
        if kind == "text":
            texts.append(text_field(piece, at))
        else:
            reason = reason or untranslatable.get(kind, f"content {pieces} of type '{kind}'")
    return "\n".join(texts), reason


def is_default(value: Any, default: Any) -> bool:
    """True when a field holds its default value (so leaving it out changes nothing)."""
    if isinstance(value, bool) or isinstance(default, bool):
        return value is default
    return bool(value == default)
