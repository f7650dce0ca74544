"""Routing: the profile a request goes to first, then its ``fallback`` profiles, in order."""

from __future__ import annotations

from collections.abc import Callable

from relaycli.config.profile import Profile
from relaycli.errors import CircuitOpen, EndpointError, NetworkError, RateLimited, RelayError, RelayTimeout

__all__ = ["FALLBACK_ON", "Router", "worth_falling_back"]

# Failures that make the next profile in ``fallback`` worth trying, if nothing was shown yet (a truncated
# stream included: the pipeline only asks while nothing of it was shown; an open circuit, and a rate limit
# that would wait past the deadline, without anything sent).
FALLBACK_ON = (NetworkError, RelayTimeout, RateLimited, EndpointError, CircuitOpen)


def worth_falling_back(error: RelayError) -> bool:
    return isinstance(error, FALLBACK_ON)


class Router:
    """Turns a profile into the list of profiles to try: itself, then each name in its ``fallback``."""

    def __init__(self, named: Callable[[str], Profile]) -> None:
        self._named = named  # a profile by name; raises ConfigError for an unknown one

    def candidates(self, profile: Profile) -> list[Profile]:
        return [profile, *(self._named(name) for name in profile.fallback)]
