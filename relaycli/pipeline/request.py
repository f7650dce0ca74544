"""What goes into the pipeline (``Ask``) and what comes out (``Answer``)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from relaycli.config.profile import Profile
from relaycli.datatypes import ChatRequest, Message, Result

__all__ = ["Answer", "Ask", "CacheInfo", "CacheUse", "attach_partial", "partial_answer"]


@dataclass(frozen=True, slots=True)
class Ask:
    """What the user asked, before a profile turns it into a wire request."""

    model: str  # as typed: an alias or a model name
    messages: tuple[Message, ...]
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    explicit: bool = True  # False: ``model`` is the first profile's default, and a fallback uses its own
    params: dict[str, Any] = field(default_factory=dict)  # other body fields (``-o NAME=VALUE``)
    by_protocol: Mapping[str, Mapping[str, Any]] | None = None
    """Body fields per wire protocol, in place of ``params`` (``relay serve``: a client's own fields for a
    profile of its protocol, their translation for the other). A protocol absent: the request cannot be
    sent to a profile that speaks it, and such a profile is skipped."""

    headers: Mapping[str, Mapping[str, str]] | None = None
    """Headers per wire protocol for this request only (a client's ``anthropic-beta`` for an Anthropic
    profile)."""

    def speaks(self, profile: Profile) -> bool:
        """Whether this request can be sent to ``profile`` (always, unless ``by_protocol`` leaves it out)."""
        return self.by_protocol is None or profile.protocol in self.by_protocol

    def model_for(self, profile: Profile) -> str:
        """The model (as typed) to ask ``profile`` for."""
        if self.explicit or not profile.default_model:
            return self.model
        return profile.default_model

    def wire_model(self, profile: Profile, first: str | None = None) -> str:
        """The model name ``profile`` is sent: its own alias of the typed name, else (for a fallback) the model
        the first profile resolved the name to, so ``-m sonnet`` reaches a fallback as the model it meant."""
        typed = self.model_for(profile)
        if typed in profile.aliases or first is None or not self.explicit:
            return profile.resolve_model(typed)
        return first

    def for_profile(self, profile: Profile, first: str | None = None) -> ChatRequest:
        """The wire request for ``profile`` (``first``: the wire model of the first profile tried)."""
        return ChatRequest(
            model=self.wire_model(profile, first),
            messages=self.messages,
            system=self.system,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            stream=True,
            params=dict(self.params if self.by_protocol is None else self.by_protocol[profile.protocol]),
            headers=dict(self.headers.get(profile.protocol, {})) if self.headers else {},
        )


@dataclass(frozen=True, slots=True)
class CacheUse:
    """How one request uses the response cache: ``read`` a stored answer, ``write`` a new one; ``only``
    answer from the cache or fail (``CacheMiss``); ``paced`` replay a hit at its original pace."""

    read: bool = False
    write: bool = False
    only: bool = False
    paced: bool = False

    @classmethod
    def from_flags(
        cls, *, no_cache: bool = False, refresh: bool = False, only: bool = False, paced: bool = False
    ) -> CacheUse:
        """``--no-cache``: neither; ``--refresh``: ask again and overwrite; ``--cache-only``: read, never ask."""
        if no_cache:
            return cls()
        return cls(read=not refresh, write=not only, only=only, paced=paced)


@dataclass(frozen=True, slots=True)
class CacheInfo:
    """A hit: the entry's key, its age, and what asking again would have cost (None: unknown)."""

    key: str
    age_s: float
    saved_usd: Decimal | None
    saved_billed: Decimal | None


@dataclass(frozen=True, slots=True)
class Answer:
    """One request's outcome as the caller sees it: the result, who answered, what it cost."""

    result: Result
    profile: Profile
    model_asked: str
    cost_usd: Decimal | None
    billed: Decimal | None
    cached: bool = False
    cache: CacheInfo | None = None  # set on a hit


_PARTIAL = "relay_partial_answer"


def attach_partial(exc: BaseException, answer: Answer) -> None:
    """Let ``exc`` carry what arrived before it ended the request."""
    with contextlib.suppress(AttributeError):  # an exception type without a __dict__
        setattr(exc, _PARTIAL, answer)


def partial_answer(exc: BaseException) -> Answer | None:
    """What arrived before ``exc`` ended the request (text so far, usage, timing), if anything was sent."""
    found = getattr(exc, _PARTIAL, None)
    return found if isinstance(found, Answer) else None
