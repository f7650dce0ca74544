"""``MockOptions``: the local relay's behaviour knobs, and the ``key=value`` directive syntax that sets them.

A directive string is a list of ``name=value`` items separated by commas, semicolons or whitespace::

    ttft=0.2,token_delay=0.01 fail=429;retry_after=1 fail_times=1 no_usage

A bare name sets a boolean knob to true. ``none`` (or ``off``) clears an optional knob, so a request can
undo a server-wide setting. Dashes are accepted for underscores (``token-delay``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from typing import Any

DirectiveValue = int | float | bool | str | None

_SPLIT = re.compile(r"[,;\s]+")
_PROMPT_DIRECTIVE = re.compile(r"\[\[\s*mock\s*:(.*?)\]\]", re.IGNORECASE | re.DOTALL)
_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE = frozenset({"0", "false", "no", "off", "n", "f"})
_NONE = frozenset({"none", "null", "off", ""})


@dataclass(frozen=True, slots=True)
class MockOptions:
    """How the local relay behaves. The defaults are a fast, well-behaved server.

    Every ``*_after`` knob counts content tokens: after that many tokens the stream misbehaves and never
    reaches its normal end (a value at or past the answer's length triggers just before the finish).
    """

    ttft: float = 0.0
    """Extra seconds before the first content token (response headers go out at once)."""
    token_delay: float = 0.0
    """Seconds between content tokens; token k is due at receipt + ttft + k * token_delay."""
    words: int = 40
    """Answer length in tokens (one word each); the request's max tokens caps it."""
    fail: int | None = None
    """Answer every matching request with this HTTP status and the protocol's error body (None, 0 and
    200 mean no failure, except with ``html``)."""
    retry_after: float | None = None
    """Sent as the ``retry-after`` header (seconds) with ``fail``."""
    retry_after_ms: int | None = None
    """Sent as the ``retry-after-ms`` header with ``fail``."""
    should_retry: bool | None = None
    """Sent as the ``x-should-retry`` header with ``fail``."""
    fail_times: int = 0
    """Only the first N matching requests fail (``fail``, ``html``) or misbehave (the ``*_after`` knobs),
    later ones are answered normally; 0 means every one."""
    stop_after: int | None = None
    """Stream N tokens, then close the connection: no finish reason, no [DONE], no message_stop."""
    malformed_after: int | None = None
    """After N tokens send one event whose data is not JSON, then carry on."""
    error_after: int | None = None
    """After N tokens send an error event inside the 200 stream and end the body."""
    stall_after: int | None = None
    """After N tokens send nothing more (keep-alive pings aside) until the client goes away."""
    reset_after: int | None = None
    """Stream N tokens, then reset the connection (a TCP RST, as when a proxy or the server dies); streams only."""
    reasoning: int = 0
    """Stream N reasoning deltas (one word each) before the answer's first content token."""
    keepalive: float = 0.0
    """Interval of ``: ping`` comments (OpenAI) or ``ping`` events (Anthropic) while waiting; 0 = none."""
    no_usage: bool = False
    """Never put usage in streams (like servers that ignore ``stream_options``)."""
    html: bool = False
    """Answer with an HTML error page; status ``fail``, else 502 (``fail=200`` gives a 200 page)."""
    reject_stream_options: bool = False
    """Answer 400 to chat-completions requests that carry ``stream_options``."""
    require_key: str | None = None
    """Requests without this key (Bearer for OpenAI, x-api-key for Anthropic) get a 401."""
    rpm: float | None = None
    """Enforce this many chat requests a minute per API key, as providers do: a token bucket holding a
    minute's worth and refilling continuously. Over it, a 429 saying how long to wait (``retry-after``
    whole seconds, ``retry-after-ms`` exactly); every chat answer carries ``x-ratelimit-limit-requests``,
    ``x-ratelimit-remaining-requests`` and ``x-ratelimit-reset-requests``."""
    seed: int = 0
    """Mixed into the prompt hash that picks the answer's words."""
    ttft_dist: str | None = None
    """A seeded distribution for the time to first token, replacing ``ttft``: ``lognormal:0.04:0.5``,
    ``uniform:0.02:0.08``, ``normal:0.05:0.01``, ``exp:0.03`` or ``fixed:0.05`` (seconds; see ``dist``)."""
    token_delay_dist: str | None = None
    """A seeded distribution for each gap between tokens, replacing ``token_delay``."""
    dist_seed: int = 0
    """Seed of the random source the distributions draw from (per server, in arrival order)."""
    pause: float = 0.0
    """Seconds the whole server freezes, once, when ``pause_after`` chat requests have arrived (a GC-like
    stall: nothing is read or written meanwhile)."""
    pause_after: int | None = None
    """The number of chat requests after which the ``pause`` happens (the next one triggers it)."""
    cache_write_5m: int = 0
    """Anthropic only: report this many input tokens written to the 5-minute prompt cache."""
    cache_write_1h: int = 0
    """Anthropic only: report this many input tokens written to the 1-hour prompt cache (with
    ``cache_write_5m``, the usage then carries the ``cache_creation`` breakdown)."""

    def __post_init__(self) -> None:
        from relaycli.mock.dist import parse

        for name in ("ttft_dist", "token_delay_dist"):
            spec = getattr(self, name)
            if spec is not None:
                try:
                    parse(spec)
                except ValueError as exc:
                    raise ValueError(f"mock option {name!r}: {exc}") from None

    @staticmethod
    def parse_directives(text: str) -> dict[str, DirectiveValue]:
        """Parse ``"ttft=0.2,fail=429 no_usage"`` into typed overrides; raise ``ValueError`` when invalid."""
        overrides: dict[str, DirectiveValue] = {}
        for item in _SPLIT.split(text.strip()):
            if not item:
                continue
            name, sep, raw = item.partition("=")
            name = name.strip().lower().replace("-", "_")
            if name not in _KINDS:
                known = ", ".join(sorted(_KINDS))
                raise ValueError(f"unknown mock directive {name!r} (known: {known})")
            overrides[name] = _convert(name, raw.strip() if sep else None)
        return overrides

    def with_directives(self, text: str) -> MockOptions:
        """A copy with the directives in ``text`` applied."""
        return self.with_overrides(self.parse_directives(text))

    def with_overrides(self, overrides: dict[str, DirectiveValue]) -> MockOptions:
        """A copy with already-parsed overrides applied."""
        if not overrides:
            return self
        changes: dict[str, Any] = dict(overrides)
        return replace(self, **changes)

    def directives(self) -> str:
        """The directive string that turns default options into these ones."""
        default = MockOptions()
        changed = {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != getattr(default, f.name)
        }
        return canonical(changed)

    @property
    def misbehaving(self) -> bool:
        """Whether a stream fault (``stop_after``, ``malformed_after``, ``error_after``, ``stall_after``,
        ``reset_after``) is set."""
        faults = (self.stop_after, self.malformed_after, self.error_after, self.stall_after, self.reset_after)
        return any(v is not None for v in faults)

    def well_behaved(self) -> MockOptions:
        """A copy without the stream faults (a request past ``fail_times``)."""
        return replace(
            self, stop_after=None, malformed_after=None, error_after=None, stall_after=None, reset_after=None
        )

    @property
    def failing(self) -> bool:
        """Whether matching requests get an error answer (subject to ``fail_times``)."""
        return self.html or self.fail not in (None, 0, 200)


def canonical(overrides: dict[str, DirectiveValue]) -> str:
    """One stable spelling of a set of overrides, used as the ``fail_times`` counter key and in logs."""
    return ",".join(f"{name}={_format(value)}" for name, value in sorted(overrides.items()))


def prompt_directives(text: str) -> list[str]:
    """The bodies of every ``[[mock: ...]]`` directive in ``text``, in order."""
    if "[[" not in text:
        return []
    return [match.group(1) for match in _PROMPT_DIRECTIVE.finditer(text)]


def _format(value: DirectiveValue) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# name -> (type, optional)
_KINDS: dict[str, tuple[type, bool]] = {
    "ttft": (float, False),
    "token_delay": (float, False),
    "words": (int, False),
    "fail": (int, True),
    "retry_after": (float, True),
    "retry_after_ms": (int, True),
    "should_retry": (bool, True),
    "fail_times": (int, False),
    "stop_after": (int, True),
    "malformed_after": (int, True),
    "error_after": (int, True),
    "stall_after": (int, True),
    "reset_after": (int, True),
    "reasoning": (int, False),
    "keepalive": (float, False),
    "no_usage": (bool, False),
    "html": (bool, False),
    "reject_stream_options": (bool, False),
    "require_key": (str, True),
    "rpm": (float, True),
    "seed": (int, False),
    "ttft_dist": (str, True),
    "token_delay_dist": (str, True),
    "dist_seed": (int, False),
    "pause": (float, False),
    "pause_after": (int, True),
    "cache_write_5m": (int, False),
    "cache_write_1h": (int, False),
}

DIRECTIVE_NAMES: tuple[str, ...] = tuple(_KINDS)


def _convert(name: str, raw: str | None) -> DirectiveValue:
    kind, optional = _KINDS[name]
    if raw is None:
        if kind is bool:
            return True
        raise ValueError(f"mock directive {name!r} needs a value ({name}=...)")
    if optional and raw.lower() in _NONE and not (kind is bool and raw.lower() == "off"):
        return None
    value: DirectiveValue
    try:
        if kind is bool:
            lowered = raw.lower()
            if lowered not in _TRUE | _FALSE:
                raise ValueError
            value = lowered in _TRUE
        elif kind is int:
            value = int(raw)
        elif kind is float:
            value = float(raw)
        else:
            value = raw
            if name.endswith("_dist"):
                from relaycli.mock.dist import parse

                parse(raw)
    except ValueError as exc:
        if name.endswith("_dist"):
            raise ValueError(f"mock directive {name!r}: {exc}") from None
        raise ValueError(f"mock directive {name!r} expects {kind.__name__}, got {raw!r}") from None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0 or value != value or value == float("inf"):
            raise ValueError(f"mock directive {name!r} must be a finite number >= 0, got {raw!r}")
        if name == "fail":
            if value == 0:
                return None
            if not 100 <= value <= 599:
                raise ValueError(f"mock directive 'fail' must be an HTTP status (100-599), got {raw!r}")
    return value
