"""Helpers for the wire tests: the upstream body relay would build for a parsed request."""

from __future__ import annotations

from typing import Any

from relaycli.core.formats import anthropic, openai
from relaycli.datatypes import ChatRequest
from relaycli.serve.wire import Incoming, Protocol


def upstream_body(incoming: Incoming, target: Protocol, model: str = "up-model") -> dict[str, Any]:
    """The body relay's pipeline sends a ``target`` upstream for ``incoming`` (always streamed)."""
    req = ChatRequest(
        model=model,
        messages=incoming.messages,
        system=incoming.system,
        temperature=incoming.temperature,
        max_tokens=incoming.max_tokens,
        stream=True,
        params=incoming.params_for(target),
    )
    fmt = openai.FORMAT if target == "openai" else anthropic.FORMAT
    return fmt.build_request(req, include_usage=True)
