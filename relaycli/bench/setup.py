"""Before a run: the targets (profile x model), the prompts, the exact request bytes, and the wires
(origin, resolved address, TLS context, limits) the engine connects to."""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from relaycli.config.profile import Profile, ResolvedKey
from relaycli.core.formats import WireFormat, api_path, for_protocol, request_headers
from relaycli.core.formats.common import Peer
from relaycli.datatypes import ChatRequest, Message
from relaycli.errors import UsageError
from relaycli.measure.engine import Wire
from relaycli.measure.http1 import encode_request, parse_origin
from relaycli.measure.sockets import relay_error, resolve, ssl_context

if TYPE_CHECKING:
    from relaycli.bench.services import Services

BUILTIN_PROMPTS: tuple[str, ...] = (
    "Explain what an API relay is in two sentences.",
    "Write a haiku about latency.",
    "List three uses of a hash map.",
    "What is the capital of Australia? Answer in one word.",
    "Summarise the plot of Hamlet in one paragraph.",
    "Translate 'good morning, how are you?' into French and Spanish.",
    "Give a Python one-liner that reverses a string, and explain it briefly.",
    "Name four planets and one fact about each.",
)


@dataclass(frozen=True, slots=True)
class Target:
    profile: Profile
    model: str  # as asked: an alias or a name
    wire_model: str  # as sent
    key: ResolvedKey
    label: str = ""

    @property
    def fmt(self) -> WireFormat:
        return for_protocol(self.profile.protocol)

    @property
    def peer(self) -> Peer:
        """The endpoint as errors name it (``host:port``, like every raw-socket error), with the key sent."""
        return Peer(
            str(parse_origin(self.profile.base_url, profile=self.profile.name)), self.profile.name, self.key.value
        )


@dataclass(frozen=True, slots=True)
class Prompt:
    messages: tuple[Message, ...]
    system: str | None = None


def resolve_targets(
    services: Services, profiles: Sequence[str], models: Sequence[str], pairs: Sequence[str]
) -> list[Target]:
    """``-T PROFILE:MODEL`` pairs, else every ``-p`` profile (or the default one) with every ``-m`` model
    (or the profile's default model)."""
    chosen: list[tuple[Profile, str]] = []
    for pair in pairs:
        name, sep, model = pair.partition(":")
        if not sep or not name:
            raise UsageError(f"-T/--target {pair!r}: expected PROFILE:MODEL (e.g. relay:gpt-4.1)")
        profile = services.profile(name)
        chosen.append((profile, model or services.default_model(profile)))
    if not pairs:
        for profile in [services.profile(p) for p in profiles] or [services.profile(None)]:
            chosen.extend((profile, m) for m in (models or [services.default_model(profile)]))
    seen: set[tuple[str, str]] = set()
    for profile, model in chosen:
        if (profile.name, model) in seen:
            raise UsageError(f"target {profile.name}:{model} is given twice")
        seen.add((profile.name, model))
    keys = {p.name: services.key(p) for p, _ in chosen}
    distinct_profiles = len({p.name for p, _ in chosen}) == len(chosen)
    distinct_models = len({m for _, m in chosen}) == len(chosen) and len({p.name for p, _ in chosen}) == 1
    targets = []
    for profile, model in chosen:
        label = profile.name if distinct_profiles else model if distinct_models else f"{profile.name}:{model}"
        targets.append(Target(profile, model, profile.resolve_model(model), keys[profile.name], label))
    return targets


def read_prompts(texts: Sequence[str], path: Path | None) -> list[Prompt]:
    """``--prompt`` texts, else ``--prompts FILE`` (one prompt a line, or JSON lines with ``prompt`` or
    ``messages`` and optional ``system``), else the built-in set."""
    if texts:
        return [Prompt((Message("user", t),)) for t in texts]
    if path is None:
        return [Prompt((Message("user", t),)) for t in BUILTIN_PROMPTS]
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--prompts {path}: {exc}") from None
    prompts = [_prompt_line(line, path, number) for number, line in enumerate(lines, 1) if line.strip()]
    if not prompts:
        raise UsageError(f"--prompts {path}: no prompts in the file")
    return prompts


def _prompt_line(line: str, path: Path, number: int) -> Prompt:
    text = line.strip()
    if not text.startswith("{"):
        return Prompt((Message("user", text),))
    where = f"--prompts {path}, line {number}"
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{where}: not valid JSON ({exc})") from None
    system = obj.get("system") if isinstance(obj.get("system"), str) else None
    if isinstance(obj.get("prompt"), str):
        return Prompt((Message("user", obj["prompt"]),), system)
    messages = obj.get("messages")
    if (
        isinstance(messages, list)
        and messages
        and all(
            isinstance(m, dict)
            and m.get("role") in ("system", "user", "assistant")
            and isinstance(m.get("content"), str)
            for m in messages
        )
    ):
        return Prompt(tuple(Message(m["role"], m["content"]) for m in messages), system)
    raise UsageError(f'{where}: expected {{"prompt": "..."}} or {{"messages": [{{"role", "content"}}, ...]}}')


def request_bytes(target: Target, prompt: Prompt, *, max_tokens: int | None, include_usage: bool = True) -> bytes:
    """The exact bytes of one streamed chat request, as ``relay stream`` would send it."""
    profile = target.profile
    wire = target.fmt
    req = ChatRequest(
        model=target.wire_model, messages=prompt.messages, system=prompt.system, max_tokens=max_tokens, stream=True
    )
    body = json.dumps(wire.build_request(req, include_usage=include_usage), separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", **request_headers(wire, profile, target.key.value, stream=True)}
    origin = parse_origin(profile.base_url, profile=profile.name)
    return encode_request("POST", origin, api_path(profile, "chat"), headers, body, profile=profile.name)


def open_wires(targets: Sequence[Target], env: Mapping[str, str]) -> list[Wire]:
    """Resolve every target's host once (a name that does not resolve fails the run, exit 7)."""
    context: ssl.SSLContext | None = None
    wires = []
    for target in targets:
        profile = target.profile
        origin = parse_origin(profile.base_url, profile=profile.name)
        try:
            family, sockaddr = resolve(origin.host, origin.port)[0]
        except OSError as exc:
            raise relay_error("dns", exc, host=origin.host, address=str(origin), profile=profile.name) from exc
        if origin.tls and context is None:
            context = ssl_context(env)
        t = profile.timeout
        wires.append(
            Wire(
                origin,
                family,
                sockaddr,
                context if origin.tls else None,
                t.connect,
                t.read,
                t.total,
                profile=profile.name,
            )
        )
    return wires
