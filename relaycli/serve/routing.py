"""Which profile answers a model name a client asks for: ``[serve.routes]`` patterns in the order
written, then the profile that has the name as an alias, then the default profile."""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase

from relaycli.config.profile import Profile

__all__ = ["Routes"]


class Routes:
    def __init__(self, routes: tuple[tuple[str, str], ...], profiles: Mapping[str, Profile], default: Profile) -> None:
        self._routes = routes
        self._profiles = profiles
        self.default = default
        self._aliases = {
            alias: profile for profile in (default, *profiles.values()) for alias in profile.aliases if alias
        }
        for alias in default.aliases:  # the default profile's own aliases win over another profile's
            self._aliases[alias] = default

    def pick(self, model: str) -> tuple[Profile, str]:
        """The profile for ``model`` and why (``route "claude-*"``, ``alias``, ``default``)."""
        for pattern, name in self._routes:
            if fnmatchcase(model, pattern):
                return self._profiles[name], f"route {pattern}"
        profile = self._aliases.get(model)
        if profile is not None:
            return profile, "alias"
        return self.default, "default"

    def patterns(self) -> tuple[tuple[str, str], ...]:
        return self._routes

    def profiles(self) -> list[Profile]:
        """Every profile a request can reach: the default first, then the routes' (for ``/v1/models``)."""
        seen: dict[str, Profile] = {self.default.name: self.default}
        for _, name in self._routes:
            seen.setdefault(name, self._profiles[name])
        return list(seen.values())
