"""``Transport``: what one profile's requests need from the client, and nothing more.

It sends one attempt, turns what went wrong into RelayErrors that name the host (and never contain the
key), plans the retry after a failed attempt, and tells the time with the clocks the client was given.
``ResponseStream`` and the client's model listing hold a ``Transport``, never the client.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from relaycli.config.profile import Profile, ResolvedKey
from relaycli.core.errors_map import transport_error
from relaycli.core.formats import Endpoint, WireFormat, api_url, request_headers
from relaycli.core.formats.common import Peer, body_kind, looks_like_html
from relaycli.core.formats.error_body import body_excerpt, error_message
from relaycli.core.proxy import Proxy
from relaycli.core.retry import Failure, RetryPolicy
from relaycli.core.scrub import scrub_error
from relaycli.core.status import status_error, timeout_error
from relaycli.datatypes import ModelInfo
from relaycli.errors import EndpointError, RateLimited, RelayError

_ERROR_BODY_LIMIT = 65536


@dataclass(frozen=True, slots=True)
class RetryNotice:
    """Sent to ``on_retry`` before each retry. ``attempt`` is 1 for the first retry."""

    attempt: int
    wait_s: float
    reason: str


@dataclass(frozen=True, slots=True)
class Clocks:
    """``monotonic``: nanoseconds for durations (perf_counter_ns); ``wall``: seconds since the epoch."""

    monotonic: Callable[[], int]
    wall: Callable[[], float]
    sleep: Callable[[float], None]

    def wall_iso(self) -> str:
        return datetime.fromtimestamp(self.wall(), UTC).isoformat(timespec="milliseconds")


class Transport:
    def __init__(
        self,
        http: httpx.Client,
        profile: Profile,
        key: ResolvedKey,
        *,
        fmt: WireFormat,
        clocks: Clocks,
        policy: RetryPolicy,
        quirks: MutableMapping[str, Any],
        on_retry: Callable[[RetryNotice], None] | None = None,
        suggest: Callable[[str], list[str]] | None = None,
        proxy: Proxy | None = None,
        on_response: Callable[[int, Mapping[str, str]], None] | None = None,
        direct: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = http
        self.profile = profile
        self.key = key
        self.fmt = fmt
        self.clocks = clocks
        self.policy = policy
        self.quirks = quirks  # this profile's learned facts, e.g. {"no_stream_options": True}
        self.on_retry = on_retry
        self._suggest = suggest
        self.proxy = proxy  # the proxy requests go through (named when it fails), or None
        self.on_response = on_response  # told every response's status and headers (rate limits, retry-after)
        self.peer = Peer(profile.host, profile.name, key.value)
        self._chat_url: httpx.URL | None = None
        # On the event loop (serve, batch) a chat request goes straight to the loop's transport, past the
        # client's layers (auth, redirects, cookies, hooks: none of which relay uses), with its headers
        # merged once per kind of request.
        self._direct = direct
        self._heads: dict[bool, httpx.Headers] = {}

    # -- time -------------------------------------------------------------------------------------

    def now(self) -> int:
        return self.clocks.monotonic()

    def remaining_s(self, t_start: int) -> float:
        return self.profile.timeout.total - (self.now() - t_start) / 1e9

    def attempt_timeout(self, t_start: int) -> tuple[httpx.Timeout, bool, bool]:
        """This attempt's timeouts, capped by what is left of the total deadline, and whether the
        connect and read limits were capped (a timeout then is the total deadline's)."""
        t = self.profile.timeout
        left = max(self.remaining_s(t_start), 0.001)
        connect, read = min(t.connect, left), min(t.read, left)
        timeout = httpx.Timeout(connect=connect, read=read, write=read, pool=connect)
        return timeout, left < t.connect, left < t.read

    # -- sending ----------------------------------------------------------------------------------

    def headers(self, *, stream: bool) -> dict[str, str]:
        return request_headers(self.fmt, self.profile, self.key.value, stream=stream)

    def url(self, endpoint: Endpoint) -> str:
        return api_url(self.profile, endpoint)

    def chat_request(
        self, body: dict[str, Any], *, stream: bool, timeout: httpx.Timeout, headers: Mapping[str, str] | None = None
    ) -> httpx.Request:
        url = self._chat_url
        if url is None:  # parsed once: every request of a batch or a gateway goes there
            url = self._chat_url = httpx.URL(self.url("chat"))
        if self._direct is not None and not url.userinfo:  # credentials in the URL: httpx's client adds them
            return self._direct_request(url, body, stream=stream, timeout=timeout, headers=headers)
        sent = self.headers(stream=stream)
        if headers:
            sent = {**sent, **headers}
        return self.http.build_request("POST", url, json=body, headers=sent, timeout=timeout)

    def send(self, request: httpx.Request) -> httpx.Response:
        """Send one attempt; the response's body is left to read. Raises httpx errors."""
        if self._direct is not None and not request.url.userinfo:  # made by _direct_request
            response = self._direct.handle_request(request)
            response.request = request
            return response
        return self.http.send(request, stream=True)

    def _direct_request(
        self,
        url: httpx.URL,
        body: dict[str, Any],
        *,
        stream: bool,
        timeout: httpx.Timeout,
        headers: Mapping[str, str] | None,
    ) -> httpx.Request:
        """The request ``http.build_request`` would make: the client's headers, then relay's, then the
        request's own, and the body as httpx encodes JSON."""
        sent = self._heads.get(stream)
        if sent is None:
            sent = self._heads[stream] = httpx.Headers(self.http.headers)
            sent.update(self.headers(stream=stream))
        if headers:
            sent = sent.copy()
            sent.update(headers)
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        request = httpx.Request("POST", url, headers=sent, content=content, extensions={"timeout": timeout.as_dict()})
        request.headers.setdefault("Content-Type", "application/json")
        return request

    def get(self, params: dict[str, str], *, timeout: httpx.Timeout) -> httpx.Response:
        return self.http.get(self.url("models"), params=params, headers=self.headers(stream=False), timeout=timeout)

    def observe(self, status: int, headers: httpx.Headers) -> None:
        if self.on_response is not None:
            self.on_response(status, headers)

    def request_id(self, headers: httpx.Headers) -> str | None:
        return self.fmt.request_id(headers)

    # -- errors -----------------------------------------------------------------------------------

    def redact(self, error: RelayError) -> RelayError:
        """Remove the key from an error (some endpoints echo it back)."""
        return scrub_error(error, self.key.value)

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
            secret=self.key.value,
            proxy=self.proxy,
        )
        self.redact(error)
        error.__cause__ = exc
        return error, Failure(kind)

    def status_error(self, response: httpx.Response, body: bytes, *, retries: int, model: str | None) -> RelayError:
        status = response.status_code
        ctype = response.headers.get("content-type", "")
        message, _ = error_message(body, ctype, self.peer) if body.strip() else ("", None)
        if 300 <= status <= 399:
            location = response.headers.get("location")
            message = f"to {self.peer.said(location)}" if location else message
        suggestions: list[str] | None = None
        if status == 404 and model and ("model" in message.lower() or model in message):
            suggestions = self._suggest(model) if self._suggest is not None else []
        return status_error(
            status,
            message=message,
            peer=self.peer,
            key_source=self.key.source,
            key_sent=bool(self.key.value),
            request_id=self.request_id(response.headers),
            retries=retries,
            model=model,
            suggestions=suggestions,
            url=str(response.request.url) if status == 404 else None,
        )

    def not_json(self, content_type: str, body: bytes, *, expected: str) -> EndpointError:
        where = self.peer.name
        excerpt = body_excerpt(body, content_type, self.peer)
        if looks_like_html(content_type, body):
            return EndpointError(
                f"{where} returned an HTML page instead of {expected} (a proxy or login page?): {excerpt!r}"
            )
        media = content_type.split(";")[0].strip() or "no content type"
        return EndpointError(f"{where} returned {media} instead of {expected}: {excerpt!r}")

    def malformed_json(self, text: str) -> EndpointError:
        return EndpointError(f"malformed JSON from {self.peer.name}: {self.peer.said(text, 120)!r}")

    def timeout(self, limit: str) -> RelayError:
        t = self.profile.timeout
        seconds = {"total": t.total, "connect": t.connect}.get(limit, t.read)
        return timeout_error(limit, seconds, self.profile)

    def read_some(self, response: httpx.Response) -> bytes:
        """Up to 64 KiB of an error body, best effort."""
        parts: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                parts.append(chunk)
                size += len(chunk)
                if size >= _ERROR_BODY_LIMIT:
                    break
        except httpx.HTTPError:
            pass
        return b"".join(parts)[:_ERROR_BODY_LIMIT]

    # -- retries ----------------------------------------------------------------------------------

    def plan_retry(self, failure: Failure, error: RelayError, retries: int, t_start: int) -> None:
        """Announce and wait before the next attempt, or raise: ``error``, or RateLimited when the
        server asked for a longer wait than relay honours."""
        decision = self.policy.decide(failure, retries)
        if decision.asked_s is not None:
            asked = decision.asked_s
            raise RateLimited(
                f"HTTP {failure.status}: {self.peer.name} asked to wait "
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
            self.clocks.sleep(decision.wait_s)

    # -- models -----------------------------------------------------------------------------------

    def list_models(self, *, retry: bool) -> list[ModelInfo]:
        models: list[ModelInfo] = []
        after: str | None = None
        for _ in range(_MAX_MODEL_PAGES):
            body = self._get_json(self.fmt.models_params(after), retry=retry)
            models.extend(self.fmt.parse_models(body, self.peer))
            after = self.fmt.next_page(body)
            if not after:
                break
        return models

    def close_matches(self, model: str) -> list[str]:
        """Model ids close to ``model`` but not ``model`` itself, best effort (the 404 itself is the error
        to report)."""
        try:
            ids = [m.id for m in self.list_models(retry=False) if m.id != model]
        except Exception:
            return []
        folded = {name.casefold(): name for name in ids}  # GPT-4.1 finds gpt-4.1
        return [folded[name] for name in difflib.get_close_matches(model.casefold(), list(folded), n=3, cutoff=0.5)]

    def _get_json(self, params: dict[str, str], *, retry: bool) -> Any:
        t_start = self.now()
        retries = 0
        while True:
            timeout, connect_total, read_total = self.attempt_timeout(t_start)
            try:
                response = self.get(params, timeout=timeout)
            except httpx.HTTPError as exc:
                error, failure = self.transport_error(
                    exc, self.url("models"), connect_total=connect_total, read_total=read_total
                )
                failure = Failure(failure.kind, streaming=False)
            else:
                if response.is_success:
                    return self._json_body(response)
                error = self.status_error(response, response.content, retries=retries, model=None)
                failure = Failure("status", status=response.status_code, headers=response.headers, streaming=False)
            if not retry:
                raise error from error.__cause__
            self.plan_retry(failure, error, retries, t_start)
            retries += 1

    def _json_body(self, response: httpx.Response) -> Any:
        ctype = response.headers.get("content-type", "")
        if body_kind(ctype) not in ("json", "unknown"):
            raise self.not_json(ctype, response.content, expected="JSON")
        try:
            return response.json()
        except ValueError as exc:
            raise self.malformed_json(response.text) from exc


_MAX_MODEL_PAGES = 100


def _human(seconds: float) -> str:
    """``61`` -> "about 1 minute", ``7200`` -> "about 2 hours", ``1`` -> "1 second"."""
    if seconds >= 3600:
        amount, unit, about = round(seconds / 3600, 1), "hour", "about "
    elif seconds >= 60:
        amount, unit, about = round(seconds / 60), "minute", "about "
    else:
        amount, unit, about = round(seconds), "second", ""
    text = f"{amount:g}"
    return f"{about}{text} {unit}{'' if text == '1' else 's'}"
