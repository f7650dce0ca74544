"""RelayClient: chat requests and model lists over httpx, with retries, timeouts and timing.

This package is the one place httpx exceptions become RelayErrors (see ``errors_map.transport_error``);
they are always raised ``from`` the httpx exception. Redirects are never followed, so a key is only ever
sent to the profile's own host. Time, sleep and randomness are injected; tests pass an
``httpx.MockTransport`` (or a respx router) as ``transport``.
"""

from __future__ import annotations

import difflib
import random
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from types import ModuleType, TracebackType
from typing import Any

import httpx

from relaycli import __version__
from relaycli.config.profile import Profile, ResolvedKey
from relaycli.core.errors_map import (
    body_excerpt,
    error_message,
    scrub,
    status_error,
    timeout_error,
    transport_error,
)
from relaycli.core.formats import anthropic, openai
from relaycli.core.formats.common import body_kind, looks_like_html, short
from relaycli.core.response import ResponseStream
from relaycli.core.retry import Failure, RetryPolicy
from relaycli.datatypes import ChatRequest, ModelInfo, Result
from relaycli.errors import EndpointError, RateLimited, RelayError
from relaycli.measure.http1 import api_url

# Per-profile facts learned at run time, e.g. {"holysheep": {"no_stream_options": True}}.
QUIRKS: dict[str, dict[str, Any]] = {}
_MAX_MODEL_PAGES = 100


@dataclass(frozen=True, slots=True)
class RetryNotice:
    """Sent to ``on_retry`` before each retry. ``attempt`` is 1 for the first retry."""

    attempt: int
    wait_s: float
    reason: str


class RelayClient:
    def __init__(
        self,
        profile: Profile,
        key: ResolvedKey,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], int] = time.perf_counter_ns,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        on_retry: Callable[[RetryNotice], None] | None = None,
        quirks: MutableMapping[str, Any] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.profile = profile
        self.key = key
        self.clock = clock
        self.sleep = sleep
        self.on_retry = on_retry
        self.quirks: MutableMapping[str, Any] = QUIRKS if quirks is None else quirks
        self.policy = RetryPolicy(profile.retries, rand=rand, wall_clock=wall_clock)
        self.wire: ModuleType = anthropic if profile.protocol == "anthropic" else openai
        t = profile.timeout
        self.http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(connect=t.connect, read=t.read, write=t.read, pool=t.connect),
            follow_redirects=False,
            # Loading the CA bundle costs ~40 ms; a plain-http profile (a local server) never needs it,
            # and no redirect is followed, so the client can never reach an https host with it.
            verify=profile.base_url.startswith("https://"),
        )

    # -- public API -----------------------------------------------------------------------------

    def stream(self, req: ChatRequest) -> ResponseStream:
        """Start a request; iterate the result for Deltas. Nothing is sent until iteration starts."""
        return ResponseStream(self, req)

    def complete(self, req: ChatRequest) -> Result:
        """Send a request and wait for all of it (streamed on the wire when ``req.stream``)."""
        with self.stream(req) as response:
            for _ in response:
                pass
            return response.result()

    def list_models(self) -> list[ModelInfo]:
        try:
            return self._list_models(retry=True)
        except RelayError as exc:
            self.redact(exc)
            raise

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RelayClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- URLs and headers -------------------------------------------------------------------------

    @property
    def chat_url(self) -> str:
        return api_url(self.profile, "chat")

    @property
    def models_url(self) -> str:
        return api_url(self.profile, "models")

    def headers(self, *, stream: bool) -> dict[str, str]:
        headers = {
            "Accept": "text/event-stream" if stream else "application/json",
            "User-Agent": f"relay/{__version__}",
        }
        headers.update(self.wire.auth_headers(self.key.value))
        headers.update(self.profile.headers)
        return headers

    def request_id(self, headers: httpx.Headers) -> str | None:
        names = ("request-id", "x-request-id")
        if self.profile.protocol == "openai":
            names = names[::-1]
        return next((headers[n] for n in names if headers.get(n)), None)

    # -- shared by ResponseStream and list_models -------------------------------------------------

    def redact(self, error: RelayError) -> None:
        """Remove the key from an error an endpoint's text went into (some echo it back)."""
        secret = self.key.value
        if not secret:
            return
        error.message = scrub(error.message, secret)
        error.args = tuple(scrub(a, secret) if isinstance(a, str) else a for a in error.args)
        if error.hint:
            error.hint = scrub(error.hint, secret)

    def remaining_s(self, t_start: int) -> float:
        return self.profile.timeout.total - (self.clock() - t_start) / 1e9

    def attempt_timeout(self, t_start: int) -> tuple[httpx.Timeout, bool, bool]:
        """This attempt's timeouts, capped by what is left of the total deadline, and whether the
        connect and read limits were capped (a timeout then is the total deadline's)."""
        t = self.profile.timeout
        left = max(self.remaining_s(t_start), 0.001)
        connect, read = min(t.connect, left), min(t.read, left)
        timeout = httpx.Timeout(connect=connect, read=read, write=read, pool=connect)
        return timeout, left < t.connect, left < t.read

    def transport_error(
        self,
        exc: httpx.HTTPError,
        url: httpx.URL | str,
        *,
        connect_total: bool = False,
        read_total: bool = False,
    ) -> tuple[RelayError, Failure]:
        error, kind = transport_error(
            exc,
            profile=self.profile,
            url=httpx.URL(url),
            connect_is_total=connect_total,
            read_is_total=read_total,
        )
        error.__cause__ = exc
        return error, Failure(kind)

    def status_error(
        self, response: httpx.Response, body: bytes, *, retries: int, model: str | None
    ) -> RelayError:
        status = response.status_code
        ctype = response.headers.get("content-type", "")
        message, _ = error_message(body, ctype) if body.strip() else ("", None)
        message = scrub(message, self.key.value)
        if 300 <= status <= 399:
            location = response.headers.get("location")
            message = f"to {short(location, 120)}" if location else message
        suggestions: list[str] | None = None
        if status == 404 and model and ("model" in message.lower() or model in message):
            suggestions = self._suggest(model)
        return status_error(
            status,
            message=message,
            profile=self.profile,
            key_source=self.key.source,
            key_sent=bool(self.key.value),
            request_id=self.request_id(response.headers),
            retries=retries,
            model=model,
            suggestions=suggestions,
            url=str(response.request.url) if status == 404 else None,
        )

    def plan_retry(self, failure: Failure, error: RelayError, retries: int, t_start: int) -> None:
        """Announce and wait before the next attempt, or raise: ``error``, or RateLimited when the
        server asked for a longer wait than relay honours."""
        decision = self.policy.decide(failure, retries)
        if decision.asked_s is not None:
            asked = decision.asked_s
            raise RateLimited(
                f"HTTP {failure.status}: {self.profile.host} (profile '{self.profile.name}') asked to wait "
                f"{asked:.0f} s before retrying ({_human(asked)}), longer than relay waits "
                f"({self.policy.max_wait_s:g} s); try again later",
                status=failure.status,
                request_id=getattr(error, "request_id", None),
            ) from error
        if not decision.retry or decision.wait_s >= self.remaining_s(t_start):
            raise error from error.__cause__
        if self.on_retry is not None:
            self.on_retry(RetryNotice(retries + 1, decision.wait_s, decision.reason))
        if decision.wait_s > 0:
            self.sleep(decision.wait_s)

    # -- models -----------------------------------------------------------------------------------

    def _suggest(self, model: str) -> list[str]:
        try:
            ids = [m.id for m in self._list_models(retry=False)]
        except Exception:  # best effort: the 404 itself is the error to report
            return []
        return difflib.get_close_matches(model, ids, n=3, cutoff=0.5)

    def _list_models(self, *, retry: bool) -> list[ModelInfo]:
        if self.profile.protocol != "anthropic":
            return list(openai.parse_models(self._get_json(self.models_url, {}, retry=retry)))
        models: list[ModelInfo] = []
        params: dict[str, str] = {"limit": "1000"}
        for _ in range(_MAX_MODEL_PAGES):
            body = self._get_json(self.models_url, params, retry=retry)
            models.extend(anthropic.parse_models(body))
            after = anthropic.next_page(body)
            if not after:
                break
            params = {"limit": "1000", "after_id": after}
        return models

    def _get_json(self, url: str, params: dict[str, str], *, retry: bool) -> Any:
        t_start = self.clock()
        retries = 0
        while True:
            timeout, connect_total, read_total = self.attempt_timeout(t_start)
            try:
                response = self.http.get(
                    url, params=params, headers=self.headers(stream=False), timeout=timeout
                )
            except httpx.HTTPError as exc:
                error, failure = self.transport_error(
                    exc, url, connect_total=connect_total, read_total=read_total
                )
                failure = Failure(failure.kind, streaming=False)
            else:
                if response.is_success:
                    return self._json_body(response)
                error = self.status_error(response, response.content, retries=retries, model=None)
                failure = Failure(
                    "status", status=response.status_code, headers=response.headers, streaming=False
                )
            if not retry:
                raise error from error.__cause__
            self.plan_retry(failure, error, retries, t_start)
            retries += 1

    def _json_body(self, response: httpx.Response) -> Any:
        ctype = response.headers.get("content-type", "")
        kind = body_kind(ctype)
        if kind not in ("json", "unknown"):
            raise self.not_json(ctype, response.content, expected="JSON")
        try:
            return response.json()
        except ValueError as exc:
            raise EndpointError(
                f"malformed JSON from {self.profile.host} (profile '{self.profile.name}'): "
                f"{short(response.text, 120)!r}"
            ) from exc

    def not_json(self, content_type: str, body: bytes, *, expected: str) -> EndpointError:
        where = f"{self.profile.host} (profile '{self.profile.name}')"
        excerpt = body_excerpt(body, content_type)
        if looks_like_html(content_type, body):
            return EndpointError(
                f"{where} returned an HTML page instead of {expected} (a proxy or login page?): {excerpt!r}"
            )
        media = content_type.split(";")[0].strip() or "no content type"
        return EndpointError(f"{where} returned {media} instead of {expected}: {excerpt!r}")

    def timeout(self, limit: str) -> RelayError:
        t = self.profile.timeout
        seconds = {"total": t.total, "connect": t.connect}.get(limit, t.read)
        return timeout_error(limit, seconds, self.profile)


def _human(seconds: float) -> str:
    if seconds >= 3600:
        return f"about {seconds / 3600:.1f} hours"
    if seconds >= 60:
        return f"about {seconds / 60:.0f} minutes"
    return f"{seconds:.0f} seconds"
