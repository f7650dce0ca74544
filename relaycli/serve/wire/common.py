"""What both client protocols share: the parsed request (``Incoming``), the request errors, stop-reason
mapping, relay's ``Usage`` in each protocol's counters, response ids and compact JSON. Pure, standard
library only."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from relaycli.datatypes import Message, Usage

Protocol = Literal["openai", "anthropic"]

NAMES: dict[str, str] = {"openai": "OpenAI chat-completions", "anthropic": "Anthropic messages"}

# Fields relay itself sets on every upstream body: never copied from the client's.
RELAY_FIELDS = frozenset({"model", "stream", "stream_options"})


class BadRequest(Exception):
    """A client body that is invalid: the server answers 400 in the client's own format.

    ``param`` names the offending field (``messages[2].content``) when there is one.
    """

    status = 400

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param

    def __str__(self) -> str:
        return self.message


class CrossProtocol(BadRequest):
    """A valid request that cannot be translated for an upstream of the other protocol. ``reason`` is the
    short account of what stands in the way (``tools``, ``image content``...)."""

    def __init__(self, message: str, reason: str, param: str | None = None) -> None:
        super().__init__(message, param)
        self.reason = reason


@dataclass(frozen=True)
class Incoming:
    """One client request, parsed: the neutral fields relay's pipeline needs (text messages, system
    prompt, temperature, output cap) and what it takes to build the upstream's other body fields.

    ``max_tokens`` is the client's output cap (OpenAI's ``max_completion_tokens`` when it sent that one).
    ``untranslatable`` says why the request cannot go to an upstream of the other protocol (``None``: it can).
    """

    protocol: Protocol
    model: str
    stream: bool
    messages: tuple[Message, ...]
    system: str | None
    temperature: float | None
    max_tokens: int | None
    include_usage: bool
    untranslatable: str | None
    body: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)
    """The client's body as received (read only)."""
    portable: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)
    """The extra fields translated for the other protocol (meaningful only when ``untranslatable`` is None)."""

    def params_for(self, target: Protocol) -> dict[str, Any]:
        """The extra body fields for an upstream speaking ``target``, for relay's ``Ask.params`` (relay merges
        them over the body it builds, with ``dict.update``).

        Same protocol: every field of the client's body as sent (``messages`` and ``system`` included, so
        images, tool results and ``cache_control`` blocks reach the upstream untouched) except ``model``,
        ``stream`` and ``stream_options``, which relay sets. Other protocol: the translated portable fields
        (see the parser modules for what maps and what is dropped), or ``CrossProtocol`` when the request
        cannot be translated.
        """
        if target == self.protocol:
            return {k: v for k, v in self.body.items() if k not in RELAY_FIELDS}
        if self.untranslatable is not None:
            raise cross_protocol(self.protocol, target, self.untranslatable)
        return json.loads(json.dumps(self.portable))  # a deep copy: callers may change it


def cross_protocol(source: Protocol, target: Protocol, reason: str) -> CrossProtocol:
    """The error for a ``source`` request that cannot go to a ``target`` upstream because of ``reason``."""
    return CrossProtocol(
        f"this {NAMES[source]} request uses {reason}, which relay cannot translate for a profile that speaks "
        f"the {NAMES[target]} API; send it to a profile that speaks the {NAMES[source]} API",
        reason,
    )


# -- stop reasons --

_TO_ANTHROPIC = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
_TO_OPENAI = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
DEFAULT_FINISH: dict[str, str] = {"openai": "stop", "anthropic": "end_turn"}


def map_finish(reason: str | None, source: Protocol, target: Protocol) -> str | None:
    """A stop reason from a ``source`` upstream in ``target``'s words. The same protocol, ``None`` and
    reasons with no counterpart (a server's own, such as ``error``) come back unchanged.

    OpenAI ``stop`` becomes ``end_turn`` (which stop sequence matched, if one did, is not reported);
    Anthropic ``pause_turn`` becomes ``stop``: the turn ended without an answer to continue from.
    """
    if reason is None or source == target:
        return reason
    table = _TO_ANTHROPIC if target == "anthropic" else _TO_OPENAI
    return table.get(reason, reason)


def finish_for(reason: str | None, source: Protocol, target: Protocol) -> str:
    """The stop reason a clean end reports to a ``target`` client: mapped, or the normal end of a turn
    when the upstream gave none (both protocols need one to mark the end)."""
    return map_finish(reason, source, target) or DEFAULT_FINISH[target]


# -- usage --


def openai_usage(usage: Usage) -> dict[str, Any] | None:
    """relay's counts as OpenAI's ``usage`` object; unknown counts are left out, and ``None`` when nothing
    is known. ``total_tokens`` only when both counts are known."""
    out: dict[str, Any] = {}
    if usage.prompt_tokens is not None:
        out["prompt_tokens"] = usage.prompt_tokens
    if usage.completion_tokens is not None:
        out["completion_tokens"] = usage.completion_tokens
    if usage.prompt_tokens is not None and usage.completion_tokens is not None:
        out["total_tokens"] = usage.prompt_tokens + usage.completion_tokens
    if usage.cached_tokens is not None:
        out["prompt_tokens_details"] = {"cached_tokens": usage.cached_tokens}
    return out or None


def anthropic_usage(usage: Usage, *, required: bool = False) -> dict[str, Any]:
    """relay's counts as Anthropic's: ``input_tokens`` is the input that was neither read from nor written to
    the cache (relay's ``prompt_tokens`` counts both). Unknown counts are left out; with ``required`` the
    two fields the protocol requires (``input_tokens``, ``output_tokens``) are 0 when unknown.
    ``cache_creation`` splits the writes by lifetime when relay knows the 1-hour part.
    """
    out: dict[str, Any] = {}
    if usage.prompt_tokens is not None:
        fresh = usage.prompt_tokens - (usage.cached_tokens or 0) - (usage.cache_write_tokens or 0)
        out["input_tokens"] = max(fresh, 0)
    elif required:
        out["input_tokens"] = 0
    if usage.completion_tokens is not None:
        out["output_tokens"] = usage.completion_tokens
    elif required:
        out["output_tokens"] = 0
    if usage.cached_tokens is not None:
        out["cache_read_input_tokens"] = usage.cached_tokens
    if usage.cache_write_tokens is not None:
        out["cache_creation_input_tokens"] = usage.cache_write_tokens
        if usage.cache_write_1h_tokens is not None:
            out["cache_creation"] = {
                "ephemeral_5m_input_tokens": max(usage.cache_write_tokens - usage.cache_write_1h_tokens, 0),
                "ephemeral_1h_input_tokens": usage.cache_write_1h_tokens,
            }
    return out


# -- ids and JSON --


_ids = random.Random()  # seeded from the system once, and again in each forked worker (--workers)
os.register_at_fork(after_in_child=_ids.seed)


def response_id(prefix: str, request_id: str | None) -> str:
    """``request_id`` with the protocol's id prefix (``chatcmpl-``, ``msg_``), or a new random one."""
    if not request_id:  # an id, not a secret: no system call for it on every request
        return prefix + f"{_ids.getrandbits(96):024x}"
    return request_id if request_id.startswith(prefix) else prefix + request_id


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
dumps = _ENCODER.encode
"""Compact JSON text (non-ASCII kept as is)."""


def encode(obj: Any) -> bytes:
    """Compact JSON, UTF-8 (a lone surrogate becomes ``?`` rather than failing the response)."""
    return _ENCODER.encode(obj).encode("utf-8", "replace")


ANTHROPIC_HEADERS = ("anthropic-beta", "anthropic-version")
"""Headers an Anthropic client sends that its Anthropic upstream gets unchanged (never a key)."""


def passed_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The ``ANTHROPIC_HEADERS`` among a client's (names in lower case)."""
    return {name: headers[name] for name in ANTHROPIC_HEADERS if name in headers}
