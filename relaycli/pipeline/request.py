"""What goes into the pipeline (``Ask``) and what comes out (``Answer``)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from relaycli.config.profile import Profile
from relaycli.datatypes import ChatRequest, Message, Result

__all__ = ["Answer", "Ask"]


@dataclass(frozen=True, slots=True)
class Ask:
    """What the user asked, before a profile turns it into a wire request."""

    model: str  # as typed: an alias or a model name
    messages: tuple[Message, ...]
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    explicit: bool = True  # False: ``model`` is the first profile's default, and a fallback uses its own

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
        )


@dataclass(frozen=True, slots=True)
class Answer:
    """One request's outcome as the caller sees it: the result, who answered, what it cost."""

    result: Result
    profile: Profile
    model_asked: str
    cost_usd: Decimal | None
    billed: Decimal | None
    cached: bool = False
