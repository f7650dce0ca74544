"""The prompts of a batch, read lazily one line at a time: JSON lines or plain lines, each with a unique id.

A JSON line is an object: ``{"id", "prompt" | "messages", "system", "model", "max_tokens", "temperature",
...}``; any other key is a body field sent as given (as ``-o NAME=VALUE`` is), and its values win over the
command line's. A plain line is one prompt. The first non-blank line decides which kind the whole input is
(a ``{`` starts JSON lines), unless ``plain`` says every line is a prompt. Blank lines are skipped. A line
without an id gets its line number (``"7"``); ids are unique across the input.

Nothing is held but the ids seen so far (for the uniqueness check and, with ``--resume``, the order of the
compacted file): the prompts themselves pass through one at a time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Set
from dataclasses import dataclass, field
from typing import IO, Any, TextIO

from relaycli.datatypes import Message
from relaycli.errors import UsageError
from relaycli.pipeline.request import Ask

__all__ = ["BadLine", "Defaults", "DuplicateId", "Item", "Source", "binary_lines", "numbered"]

_FIELDS = frozenset({"id", "prompt", "messages", "system", "model", "max_tokens", "temperature"})
_RESERVED = frozenset({"stream", "stream_options"})  # body fields relay writes itself
_ROLES = ("system", "user", "assistant")
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Defaults:
    """What a line does not say: the command line's model, system prompt, sampling and ``-o`` fields."""

    model: str | None  # None: every line must name its model
    explicit: bool = True  # the model was chosen by the user (a fallback profile then asks for it too)
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Item:
    """One prompt to send."""

    id: str
    line: int
    ask: Ask


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that cannot be sent (not JSON, no prompt, a bad field): it gets an error output line."""

    id: str
    line: int
    error: UsageError


class DuplicateId(UsageError):
    """Two lines carry the same id."""


def numbered(lines: Iterable[bytes]) -> Iterator[tuple[int, str | None]]:
    """``(line number, text)`` of every non-blank line, counted from 1; ``None`` for one that is not UTF-8."""
    for number, raw in enumerate(lines, 1):
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, None
            continue
        if text.strip():
            yield number, text.rstrip("\r\n")


def binary_lines(stream: IO[bytes] | TextIO) -> Iterable[bytes]:
    """The lines of a stream as bytes (a text stream's buffer when it has one)."""
    raw = getattr(stream, "buffer", None)
    source: Iterable[str | bytes] = raw if raw is not None else stream
    return (line.encode("utf-8", "surrogateescape") if isinstance(line, str) else line for line in source)


class Source:
    """The input's items in order, one at a time. ``ids`` maps every id read so far to its line (in input
    order); an id in ``skip`` (done in an earlier run) is read, checked and counted in ``skipped``, not
    yielded. A repeated id raises ``DuplicateId`` naming both lines. ``checked``: an earlier pass over the
    same lines checked the ids already, and the order is not needed: ``ids`` stays empty."""

    def __init__(
        self,
        lines: Iterable[tuple[int, str | None]],
        *,
        name: str,
        defaults: Defaults,
        plain: bool = False,
        skip: Set[str] = frozenset(),
        checked: bool = False,
    ) -> None:
        self._lines = iter(lines)
        self.name = name
        self.defaults = defaults
        self.plain = plain
        self.skip = skip
        self.ids: dict[str, int] = {}
        self.skipped = 0
        self.checked = checked
        self._json: bool | None = None if not plain else False

    def __iter__(self) -> Iterator[Item | BadLine]:
        return self

    def __next__(self) -> Item | BadLine:
        while True:
            number, text = next(self._lines)
            entry = self._parse(number, text)
            if self.checked:
                return entry
            first = self.ids.get(entry.id)
            if first is not None:
                raise DuplicateId(
                    f"{self.name}: line {number} repeats the id {entry.id!r} of line {first}",
                    hint="every line needs its own id (a line without one gets its line number)",
                )
            self.ids[entry.id] = number
            if entry.id in self.skip:
                self.skipped += 1
                continue
            return entry

    def _parse(self, number: int, text: str | None) -> Item | BadLine:
        where = f"{self.name}, line {number}"
        if text is None:
            return BadLine(str(number), number, UsageError(f"{where}: not valid UTF-8"))
        if self._json is None:
            self._json = text.lstrip().startswith("{")
        if not self._json:
            return self._item(str(number), number, {"prompt": text.strip()}, where)
        try:
            obj = json.loads(text, parse_constant=_no_constant)
        except ValueError as exc:
            return BadLine(str(number), number, UsageError(f"{where}: not valid JSON ({exc})"))
        if not isinstance(obj, dict):
            return BadLine(str(number), number, UsageError(f"{where}: expected a JSON object"))
        raw_id = obj.get("id")
        if raw_id is None:
            item_id = str(number)
        elif isinstance(raw_id, str) and raw_id or isinstance(raw_id, int) and not isinstance(raw_id, bool):
            item_id = str(raw_id)
        else:
            return BadLine(str(number), number, UsageError(f"{where}: the id must be a non-empty string or a number"))
        try:
            return self._item(item_id, number, obj, where)
        except UsageError as exc:
            return BadLine(item_id, number, exc)

    def _item(self, item_id: str, number: int, obj: dict[str, Any], where: str) -> Item:
        d = self.defaults
        messages = _messages(obj, where)
        model = _text(obj, "model", where) or d.model
        if model is None:
            raise UsageError(f'{where}: no model: give the line a "model", or pass -m')
        params = dict(d.params)
        for key, value in obj.items():
            if key in _RESERVED:
                raise UsageError(f"{where}: {key!r} is set by relay itself")
            if key not in _FIELDS:
                params[key] = value
        system = _text(obj, "system", where)
        ask = Ask(
            model=model,
            messages=messages,
            system=system if system is not None else d.system,
            temperature=_number(obj, "temperature", where, d.temperature, lambda v: 0 <= v <= 2, "from 0 to 2"),
            max_tokens=_whole(obj, where, d.max_tokens),
            explicit=d.explicit or "model" in obj,
            params=params,
        )
        return Item(item_id, number, ask)


def _messages(obj: dict[str, Any], where: str) -> tuple[Message, ...]:
    prompt, messages = obj.get("prompt"), obj.get("messages")
    if prompt is not None and messages is not None:
        raise UsageError(f'{where}: give "prompt" or "messages", not both')
    if prompt is not None:
        if not isinstance(prompt, str) or not prompt.strip():
            raise UsageError(f'{where}: "prompt" must be a non-empty string')
        return (Message("user", prompt),)
    if (
        isinstance(messages, list)
        and messages
        and all(isinstance(m, dict) and m.get("role") in _ROLES and isinstance(m.get("content"), str) for m in messages)
    ):
        return tuple(Message(m["role"], m["content"]) for m in messages)
    if messages is not None:
        raise UsageError(f'{where}: "messages" must be a list of {{"role", "content"}} (role: system, user, assistant)')
    raise UsageError(f'{where}: no prompt: expected {{"prompt": "..."}} or {{"messages": [...]}}')


def _text(obj: dict[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str) and value:
        return value
    raise UsageError(f"{where}: {key!r} must be a non-empty string")


def _number(
    obj: dict[str, Any], key: str, where: str, default: float | None, ok: Callable[[float], bool], say: str
) -> float | None:
    value = obj.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or not ok(value):
        raise UsageError(f"{where}: {key!r} must be a number {say}")
    return float(value)


def _whole(obj: dict[str, Any], where: str, default: int | None) -> int | None:
    value = obj.get("max_tokens")
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{where}: 'max_tokens' must be a whole number of at least 1")
    return value


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")
