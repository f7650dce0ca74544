"""``POST /v1/messages/count_tokens``: Anthropic's token counter, asked of the profile the model routes to.

Only an Anthropic profile offers it; for a model served by an OpenAI-protocol profile the answer is 404
(relay does not guess a count). Client keys are never passed on; ``anthropic-beta`` and
``anthropic-version`` are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from relaycli.config.profile import Profile, ResolvedKey
from relaycli.datatypes import Notes
from relaycli.serve import wire
from relaycli.serve.failures import describe
from relaycli.serve.routing import Routes

__all__ = ["TokenCounter"]


class TokenCounter:
    def __init__(
        self,
        routes: Routes,
        keys: Callable[[Profile], ResolvedKey],
        clients: Callable[[Profile, ResolvedKey, Notes], Any],
        notes: Notes,
    ) -> None:
        self.routes, self.keys, self.clients, self.notes = routes, keys, clients, notes

    def __call__(self, body: Any, headers: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        model = body.get("model") if isinstance(body, dict) else None
        if not isinstance(model, str) or not model:
            return 400, wire.error_body("anthropic", 400, "model: a model name is required")
        profile, _ = self.routes.pick(model)
        if profile.protocol != "anthropic":
            message = (
                f"count_tokens is offered by Anthropic profiles only; {model!r} is served by profile"
                f" {profile.name!r} ({profile.protocol})"
            )
            return 404, wire.error_body("anthropic", 404, message)
        sent = {**body, "model": profile.resolve_model(model)}
        passed = wire.passed_headers(headers)
        try:
            key = self.keys(profile)
            with self.clients(profile, key, self.notes) as client:
                return 200, client.count_tokens(sent, passed)
        except Exception as exc:  # noqa: BLE001 - every failure is an answer in the client's protocol
            status, message = describe(exc)
            return status, wire.error_body("anthropic", status, message)
