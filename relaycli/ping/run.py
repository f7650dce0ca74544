"""``relay ping``: is each profile reachable, does it accept its key, and how long does each phase take?

For every profile: DNS, TCP connect, TLS and time to first byte of ``GET /models`` (both protocols have
it) on a fresh connection, the HTTP status, whether the key was accepted (``ok``, ``rejected``,
``missing``; ``unknown`` when the endpoint failed before judging it), and the number of models. With
``--chat``, a one-token streamed completion too, and its TTFT. ``--count N`` repeats like ping(8).
No printing here: ``ping.report`` turns the reports into output.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from relaycli.config.profile import Profile, ResolvedKey
from relaycli.core.formats import WireFormat, api_path, for_protocol, request_headers
from relaycli.core.formats.common import Peer, html_excerpt, looks_like_html
from relaycli.core.scrub import scrub_error
from relaycli.datatypes import Message
from relaycli.errors import (
    APIError,
    AuthError,
    ConfigError,
    EndpointError,
    MissingKey,
    RateLimited,
    RelayError,
    interrupt_exit_code,
)
from relaycli.measure.http1 import encode_request, parse_origin
from relaycli.measure.interrupts import Deferred, describe
from relaycli.measure.probe import ProbeResult, probe
from relaycli.measure.sockets import ssl_context

if TYPE_CHECKING:
    from relaycli.bench.services import Services

PHASES = ("dns", "connect", "tls", "ttfb", "total")


@dataclass(slots=True)
class Attempt:
    timings: dict[str, float | None] = field(default_factory=dict)
    address: str | None = None
    status: int | None = None
    auth: str = "unknown"
    models: int | None = None
    error: RelayError | None = None
    chat_ttft_ms: float | None = None
    chat_status: int | None = None

    @property
    def exit_code(self) -> int:
        return int(self.error.exit_code) if self.error is not None else 0


@dataclass(slots=True)
class Report:
    profile: Profile
    key_source: str
    attempts: list[Attempt] = field(default_factory=list)
    interrupt_code: int | None = None  # 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP: the checks stopped here

    @property
    def ok(self) -> bool:
        return bool(self.attempts) and all(a.error is None for a in self.attempts)

    @property
    def exit_code(self) -> int:
        return next((a.exit_code for a in self.attempts if a.error is not None), 0)


def ping_all(
    services: Services,
    profiles: Sequence[Profile],
    *,
    count: int = 1,
    interval: float = 1.0,
    chat: bool = False,
    model: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_attempt: Callable[[Report, Attempt], None] | None = None,
) -> list[Report]:
    """Every profile, ``count`` times. Ctrl-C, SIGTERM or SIGHUP ends the checks: the reports so far come back,
    the last one with its ``interrupt_code`` (a one-token completion cut short is recorded as interrupted)."""
    reports = []
    for profile in profiles:
        key, missing = _key(services, profile)
        report = Report(profile, key.source)
        try:
            for number in range(count):
                if number:
                    sleep(interval)
                attempt = ping_once(services, profile, key, missing, chat=chat, model=model)
                report.attempts.append(attempt)
                if on_attempt is not None:
                    on_attempt(report, attempt)
        except KeyboardInterrupt as exc:
            report.interrupt_code = interrupt_exit_code(exc)
            if report.attempts:
                reports.append(report)
            elif reports:
                reports[-1].interrupt_code = report.interrupt_code
            else:
                raise
            return reports
        reports.append(report)
    return reports


def _key(services: Services, profile: Profile) -> tuple[ResolvedKey, MissingKey | None]:
    try:
        return services.key(profile), None
    except MissingKey as exc:
        source = (
            f"env {profile.api_key_env}"
            if profile.api_key_env
            else f"api_key_cmd `{profile.api_key_cmd}`"
            if profile.api_key_cmd
            else "no key source"
        )
        return ResolvedKey(None, f"{source} (missing)"), exc


def key_label(key_source: str) -> str:
    return "none" if key_source.startswith("no key configured") else key_source


def ping_once(
    services: Services,
    profile: Profile,
    key: ResolvedKey,
    missing: MissingKey | None,
    *,
    chat: bool = False,
    model: str | None = None,
) -> Attempt:
    attempt = Attempt()
    fmt = for_protocol(profile.protocol)
    origin = parse_origin(profile.base_url, profile=profile.name)
    peer = Peer(str(origin), profile.name, key.value)
    path = api_path(profile, "models", query=urlencode(fmt.models_params()))
    context = ssl_context(services.env) if origin.tls else None
    try:
        request = encode_request(
            "GET", origin, path, request_headers(fmt, profile, key.value, stream=False), profile=profile.name
        )
        res = probe(origin, request, timeouts=profile.timeout, profile=profile.name, context=context)
    except RelayError as exc:
        attempt.error = scrub_error(exc, key.value)
        return attempt
    attempt.timings = {phase: res.ms(phase) for phase in PHASES}
    attempt.address, attempt.status = res.address, res.status
    attempt.error = _judge(attempt, res, fmt, key, peer)
    if missing is not None:
        attempt.auth, attempt.error = "missing", missing
    if chat and attempt.error is None:
        attempt.error = _chat(services, attempt, profile, key, model, context)
    return attempt


def _judge(attempt: Attempt, res: ProbeResult, fmt: WireFormat, key: ResolvedKey, peer: Peer) -> RelayError | None:
    from relaycli.bench.analyze import error_excerpt

    where = peer.name
    status = res.status
    said = error_excerpt(res.body, peer) if not 200 <= status <= 299 else ""
    said = f": {said}" if said else ""
    if status in (401, 403):
        attempt.auth = "rejected"
        sent = f"key from {key.source}" if key.value else f"no key was sent ({key.source})"
        return AuthError(f"HTTP {status}: {where} rejected the API key; {sent}{said}", status=status)
    if status == 429:
        return RateLimited(f"HTTP 429: rate limited by {where}{said}", status=status)
    if status >= 500:
        return EndpointError(f"HTTP {status}: server error from {where}{said}", status=status)
    if 300 <= status <= 399:  # as relay stream says it (exit 5): the key must not follow to another host
        location = res.headers.get("location", "")
        to = f" to {peer.scrub(location)!r}" if location else ""
        return EndpointError(
            f"HTTP {status}: {where} answered GET /models with a redirect{to}; relay does not "
            "follow redirects (the key must not go to another host): fix base_url",
            status=status,
        )
    if not 200 <= status <= 299:
        return APIError(f"HTTP {status} from {where} for GET /models{said}", status=status)
    if looks_like_html("", res.body):  # a 200 login or portal page is no model list and no verdict on the key
        page = html_excerpt(res.body, peer)
        return EndpointError(
            f"{where} answered GET /models with an HTML page {page!r} (a proxy or login page?); check base_url",
            status=status,
        )
    attempt.auth = "ok"
    try:
        body = json.loads(res.body)
        attempt.models = len(fmt.parse_models(body, peer))
    except (ValueError, EndpointError) as exc:
        return EndpointError(
            f"{where} answered GET /models with something that is not a model list: "
            f"{peer.scrub(str(getattr(exc, 'message', exc)))}"
        )
    return None


def _chat(
    services: Services, attempt: Attempt, profile: Profile, key: ResolvedKey, model: str | None, context: Any
) -> RelayError | None:
    from relaycli.bench.analyze import Record, analyze
    from relaycli.bench.setup import Prompt, Target, request_bytes
    from relaycli.measure.engine import TimedRequest

    asked = model or profile.default_model
    if not asked:
        return ConfigError(f"--chat: profile {profile.name!r} has no default_model; pass -m MODEL")
    try:
        services.check_budget(profile)  # budget_action = "block": not even a one-token completion
    except RelayError as exc:
        return exc
    target = Target(profile, asked, profile.resolve_model(asked), key, profile.name)
    payload = request_bytes(target, Prompt((Message("user", "Say OK."),)), max_tokens=1)
    origin = parse_origin(profile.base_url, profile=profile.name)
    t_start = time.perf_counter_ns()
    try:
        res = probe(origin, payload, timeouts=profile.timeout, profile=profile.name, context=context)
    except RelayError as exc:
        return scrub_error(exc, key.value)
    except KeyboardInterrupt as exc:  # the completion was sent, perhaps billed: it gets its row
        with Deferred():
            cut = Record(
                target=0,
                seq=0,
                t_send=t_start,
                t_end=time.perf_counter_ns(),
                error="interrupted",
                detail=f"interrupted by {describe(exc)}",
            )
            _record(services, cut, target)
        raise
    ex = TimedRequest(
        0,
        payload,
        t_send=res.t_send,
        t_headers=res.t_first_byte,
        status=res.status,
        headers=res.headers,
        pieces=res.pieces,
        t_end=res.t_end,
    )
    rec = analyze(ex, fmt=target.fmt, target=0, seq=0, peer=target.peer, key_source=key.source)
    attempt.chat_status = res.status
    if rec.t_first_token is not None:
        attempt.chat_ttft_ms = (rec.t_first_token - rec.t_send) / 1e6
    _record(services, rec, target)
    error = rec.failure if rec.error != "empty" else None  # it answered: that is all ping asks
    if error is not None:
        error.message = f"--chat (model {asked!r}): {error.message}"
        error.args = (error.message, *error.args[1:])
    return error


def _record(services: Services, rec: Any, target: Any) -> None:
    """The --chat request cost tokens: it gets a ledger row (tag ``ping``); a ledger problem is a warning."""
    from relaycli.bench.results import ledger_row, utc_now

    try:
        row = ledger_row(rec, target, services.prices(), wall_t0=utc_now(), t0=rec.t_send, command="ping")
        services.ledger().record(row)
    except (RelayError, OSError) as exc:
        services.warn(f"usage not recorded: {getattr(exc, 'message', exc)}")
