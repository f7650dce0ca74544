"""ResponseStream: one chat request, its attempts, and everything it produced so far.

Iterating yields Deltas. A failed attempt is retried only while nothing it yielded was shown to the user
(the caller's ``shown``; by default anything yielded counts as shown): a retry would show the answer
twice. A retry after deltas were yielded but not shown (``--json``, reasoning only) first yields
``RESTART``, which voids them; the text and the result are then the new attempt's alone. ``result()``
works at any time: after the end, after a RelayError, after Ctrl-C in the middle, and returns the partial
state. The stream holds a ``Transport``
(sending, error mapping, the retry plan and the clocks), not the client that made it.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Callable, Generator, Iterator
from types import TracebackType
from typing import Any, NoReturn

import httpx

from relaycli.core.events import EventGate
from relaycli.core.formats import StreamParser
from relaycli.core.formats.common import Completion, body_kind, clause, load_json_object
from relaycli.core.retry import Failure
from relaycli.core.reuse import finish_body
from relaycli.core.scrub import StreamScrub, scrub, scrub_value
from relaycli.core.sse import SSEDecoder
from relaycli.core.transport import Transport
from relaycli.datatypes import ChatRequest, Delta, Result, Timing, Usage
from relaycli.errors import APIError, EndpointError, RelayError, StreamError, TruncatedResponse

RESTART = Delta("", "restart")
_SSE_STARTS = (b"data:", b"event:", b":", b"id:", b"retry:")
_TOKEN_FIELD = "max_tokens_field"
_TOKEN_FIELDS = ("max_tokens", "max_completion_tokens")


def _other_token_field(body: dict[str, Any], raw: bytes) -> str | None:
    """The other name for the output-token cap when a 400 says the one sent is not supported."""
    sent = next((f for f in _TOKEN_FIELDS if f in body), None)
    if sent is None:
        return None
    other = _TOKEN_FIELDS[1 - _TOKEN_FIELDS.index(sent)]
    text = raw.decode("utf-8", "replace").lower()
    return other if sent in text and ("unsupported" in text or "not supported" in text or other in text) else None


_NO_STREAM_OPTIONS = "no_stream_options"


class _AttemptFailed(Exception):
    """Internal: an attempt failed in a way the retry policy gets to judge."""

    def __init__(self, failure: Failure, error: RelayError, cause: BaseException | None = None) -> None:
        super().__init__(str(error))
        if cause is not None and error.__cause__ is None:
            error.__cause__ = cause
        self.failure = failure
        self.error = error


class _Resend(Exception):
    """Internal: send again at once (the server rejected ``stream_options``)."""


class ResponseStream:
    def __init__(
        self,
        transport: Transport,
        req: ChatRequest,
        *,
        shown: Callable[[], bool] | None = None,
        spent_s: float = 0.0,
        events: Callable[[str], None] | None = None,
    ) -> None:
        self._c = transport
        self.request = req
        self._shown_by = shown
        self._pending = False  # deltas were yielded since the start (or the last RESTART)
        # the total deadline counts from when the request began, a wait for its turn included
        self.timing = Timing(started_at=transport.clocks.wall_iso(), t_start=transport.now() - int(spent_s * 1e9))
        self.error: RelayError | None = None
        self.retries = 0
        self.status: int | None = None
        self.request_id: str | None = None
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._scrub = StreamScrub(transport.key.value)  # a key the server echoes inside the answer
        self._gate = EventGate(events, self._scrub, transport.key.value) if events is not None else None
        self._parser: StreamParser | None = None
        self._completion: Completion | None = None
        self._response: httpx.Response | None = None
        self._gen: Generator[Delta, None, None] | None = None
        quirks = transport.quirks
        self._include_usage = not quirks.get(_NO_STREAM_OPTIONS, False)
        self._token_field: str | None = quirks.get(_TOKEN_FIELD)
        self._unconfirmed: dict[str, Any] = {}  # quirks recorded once a request without the field succeeds

    # -- public -------------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Delta]:
        if self._gen is None:
            self._gen = self._run()
        return self._gen

    @property
    def text(self) -> str:
        return "".join(self._text)

    @property
    def reasoning(self) -> str:
        return "".join(self._reasoning)

    @property
    def response_id(self) -> str | None:
        source = self._completion or self._parser
        return source.response_id if source is not None else None

    def result(self) -> Result:
        """What the request produced so far (complete or not)."""
        timing = dataclasses.replace(self.timing)
        if timing.t_end is None:
            timing.t_end = self._c.now()
        if self._completion is not None:
            done = self._completion
            model, finish, usage, complete = done.model, done.finish_reason, done.usage, True
        elif self._parser is not None:
            p = self._parser
            model, finish, usage, complete = p.model, p.finish_reason, p.usage, bool(p.complete)
        else:
            model, finish, usage, complete = None, None, Usage(), False
        secret = self._c.key.value
        if secret:  # what the server said about the answer goes to the ledger and the cache: never the key
            model, finish = _clean(model, secret), _clean(finish, secret)
            if usage.raw is not None:
                raw = scrub_value(usage.raw, secret)
                usage = dataclasses.replace(usage, raw=raw if isinstance(raw, dict) else None)
        return Result(
            text=self.text,
            model=model,
            finish_reason=finish,
            usage=usage,
            request_id=_clean(self.request_id, secret),
            timing=timing,
            retries=self.retries,
            status=self.status,
            complete=complete and self.error is None,
        )

    def close(self) -> None:
        if self._gen is not None:
            self._gen.close()
        self._close_response()
        if self.timing.t_end is None:
            self.timing.t_end = self._c.now()

    def __enter__(self) -> ResponseStream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- the attempt loop ---------------------------------------------------------------------------

    def _run(self) -> Generator[Delta, None, None]:
        c = self._c
        t_start = self.timing.t_start or 0
        try:
            while True:
                restart = False
                try:
                    yield from self._attempt()
                    return
                except _Resend:
                    continue  # happens at most once: the new body carries no stream_options
                except _AttemptFailed as failed:
                    self._close_response()
                    c.plan_retry(failed.failure, failed.error, self.retries, t_start)
                    self.retries += 1
                    restart = self._pending
                finally:
                    self._close_response()
                if restart:
                    self._discard()
                    yield RESTART
        except RelayError as exc:
            c.redact(exc)
            self.error = exc
            raise
        finally:
            if self.timing.t_end is None:
                self.timing.t_end = c.now()

    def _attempt(self) -> Iterator[Delta]:
        c, req = self._c, self.request
        t_start = self.timing.t_start or 0
        if c.remaining_s(t_start) <= 0:
            raise c.timeout("total")
        self._parser = None
        self._completion = None
        self.status = None
        self.timing.t_headers = None
        body = c.fmt.build_request(req, include_usage=self._include_usage, token_field=self._token_field)
        timeout, connect_total, read_total = c.attempt_timeout(t_start)
        request = c.chat_request(body, stream=req.stream, timeout=timeout, headers=req.headers)
        self.timing.t_send = c.now()
        try:
            response = c.send(request)
        except httpx.HTTPError as exc:
            error, failure = c.transport_error(exc, request.url, connect_total=connect_total, read_total=read_total)
            raise _AttemptFailed(dataclasses.replace(failure, streaming=req.stream), error, exc) from exc
        self._response = response
        self.timing.t_headers = c.now()
        self.status = response.status_code
        self.request_id = c.request_id(response.headers)
        c.observe(response.status_code, response.headers)
        if not response.is_success:
            raw = c.read_some(response)
            if response.status_code in (400, 422) and "stream_options" in body and b"stream_options" in raw.lower():
                self._unconfirmed[_NO_STREAM_OPTIONS] = True
                self._include_usage = False
                raise _Resend
            other = _other_token_field(body, raw) if response.status_code in (400, 422) else None
            if other is not None:  # "use max_completion_tokens instead" (OpenAI reasoning models), or back
                self._unconfirmed[_TOKEN_FIELD] = other
                self._token_field = other
                raise _Resend
            error = c.status_error(response, raw, retries=self.retries, model=req.model)
            failure = Failure("status", status=response.status_code, headers=response.headers, streaming=req.stream)
            raise _AttemptFailed(failure, error)
        if self._unconfirmed:  # the request without the rejected field was accepted: remember that
            c.quirks.update(self._unconfirmed)
            self._unconfirmed = {}
        ctype = response.headers.get("content-type", "")
        kind = body_kind(ctype)
        if kind == "sse" or (kind == "unknown" and req.stream):
            yield from self._read_sse(response, read_total=read_total)
        elif kind in ("json", "unknown"):
            yield from self._read_json(response, read_total=read_total)
        elif kind == "other" and req.stream:
            yield from self._read_mislabelled(response, read_total=read_total)
        else:
            expected = "an event stream" if req.stream else "JSON"
            raise self._tag(c.not_json(ctype, c.read_some(response), expected=expected))

    # -- reading bodies -----------------------------------------------------------------------------

    def _read_mislabelled(self, response: httpx.Response, *, read_total: bool) -> Iterator[Delta]:
        """Some servers label their event stream ``text/plain``: read it as one if it starts like one."""
        c = self._c
        chunks = response.iter_bytes()
        try:
            first = next(chunks, b"")
        except httpx.TimeoutException as exc:
            error = c.timeout("total" if read_total else "read")
            raise _AttemptFailed(Failure("read_timeout"), error, exc) from exc
        except httpx.HTTPError as exc:
            raise _AttemptFailed(Failure("truncated"), self._tag(self._broken(exc)), exc) from exc
        if not first.lstrip(b"\xef\xbb\xbf\r\n ").startswith(_SSE_STARTS):
            ctype = response.headers.get("content-type", "")
            raise self._tag(c.not_json(ctype, first[:2048], expected="an event stream"))
        yield from self._read_sse(response, read_total=read_total, chunks=itertools.chain([first], chunks))

    def _read_sse(
        self, response: httpx.Response, *, read_total: bool, chunks: Iterator[bytes] | None = None
    ) -> Iterator[Delta]:
        c = self._c
        t = c.profile.timeout
        t_start = self.timing.t_start or 0
        read_ns, total_ns = t.read * 1e9, t.total * 1e9
        decoder = SSEDecoder()
        parser = self._parser = c.fmt.stream_parser(c.peer)
        if self._gate is not None:
            self._gate.reset()  # a new attempt: nothing of an earlier one waits
        last_content = self.timing.t_headers or c.now()
        chunks = response.iter_bytes() if chunks is None else chunks
        while True:
            try:
                chunk = next(chunks, None)
            except httpx.TimeoutException as exc:
                error = c.timeout("total" if read_total else "read")
                self._retry_unless_shown(Failure("read_timeout"), error, exc)
            except httpx.HTTPError as exc:  # the response had begun: a stream cut short, not a network error
                self._retry_unless_shown(Failure("truncated"), self._tag(self._broken(exc)), exc)
            if chunk is None:
                break
            now = c.now()
            for event in decoder.feed(chunk):
                try:
                    deltas = parser.feed(event)
                except StreamError as exc:
                    self._retry_unless_shown(Failure("stream_error", error_type=exc.error_type), self._tag(exc))
                except EndpointError as exc:  # a chunk that is not JSON
                    self._retry_unless_shown(Failure("malformed"), self._tag(exc), exc.__cause__)
                if self._gate is not None:
                    yield from self._gate.offer(event.data, functools.partial(self._cleaned, deltas, now))
                    if any(delta.text for delta in deltas):
                        last_content = now
                    continue
                for delta in deltas:
                    if delta.text:
                        last_content = now
                        yield from self._pass(delta, now)
            if parser.done:
                finish_body(response, chunks)  # the connection goes back to the pool when the body is all here
                break  # the end marker arrived: stop reading even if the server keeps the body open
            if now - t_start >= total_ns:
                raise self._tag(c.timeout("total"))
            if now - last_content >= read_ns:
                self._retry_unless_shown(Failure("idle_timeout"), c.timeout("content-idle"))
        if self._gate is not None:  # what the scrubber held back was not the key: the events go as they came
            yield from self._gate.release()
        tail = decoder.unfinished() if not parser.complete else None
        if tail is not None and c.fmt.is_end(tail):
            parser.feed(tail)  # the end marker came without its blank line: still the end
        decoder.close()
        if not parser.complete:
            self._retry_unless_shown(Failure("truncated"), self._tag(self._truncated(parser)))
        yield from self._held(c.now())

    def _read_json(self, response: httpx.Response, *, read_total: bool) -> Iterator[Delta]:
        c, streaming = self._c, self.request.stream
        try:
            raw = response.read()
        except httpx.TimeoutException as exc:
            error = c.timeout("total" if read_total else "read")
            raise _AttemptFailed(Failure("read_timeout", streaming=streaming), error, exc) from exc
        except httpx.HTTPError as exc:  # the server may have done the work already: retried only if streamed
            error = self._tag(self._broken(exc))
            raise _AttemptFailed(Failure("truncated", streaming=streaming), error, exc) from exc
        try:
            completion = c.fmt.parse_response(
                load_json_object(raw.decode("utf-8", "replace"), what="response", peer=c.peer), c.peer
            )
        except StreamError as exc:
            raise _AttemptFailed(Failure("stream_error", error_type=exc.error_type), self._tag(exc), None) from None
        except EndpointError as exc:
            raise self._tag(exc) from exc.__cause__
        self._completion = completion
        now = c.now()
        for delta in (Delta(completion.reasoning, "reasoning"), Delta(completion.text)):
            if delta.text:
                yield from self._pass(delta, now)
        yield from self._held(now)

    # -- helpers ------------------------------------------------------------------------------------

    @property
    def _content_seen(self) -> bool:
        return self.timing.t_first_token is not None

    def _shown(self) -> bool:
        """Whether what this stream yielded may have reached the user (then no retry)."""
        return self._shown_by() if self._shown_by is not None else self._pending

    def _retry_unless_shown(self, failure: Failure, error: RelayError, cause: BaseException | None = None) -> NoReturn:
        """End this attempt: with ``error`` itself once something was shown, else for the retry policy."""
        if self._shown():
            if cause is not None and error.__cause__ is None:
                raise error from cause
            raise error
        raise _AttemptFailed(failure, error, cause)

    def _pass(self, delta: Delta, now: int) -> Iterator[Delta]:
        """A delta as it goes to the caller: the key removed (an end that may begin it is held back)."""
        text = self._scrub.feed(delta.text, delta.kind)
        if text:
            clean = delta if text == delta.text else Delta(text, delta.kind)
            self._record(clean, now)
            yield clean

    def _cleaned(self, deltas: list[Delta], now: int) -> list[Delta]:
        """An event's deltas through the key scrubber (what it holds back comes later)."""
        return [clean for delta in deltas if delta.text for clean in self._pass(delta, now)]

    def _held(self, now: int) -> Iterator[Delta]:
        """What was held back at the end of a whole answer."""
        for kind in ("reasoning", "text"):
            text = self._scrub.flush(kind)
            if text:
                delta = Delta(text, "reasoning" if kind == "reasoning" else "text")
                self._record(delta, now)
                yield delta

    def _discard(self) -> None:
        """Forget what the failed attempts yielded: the next attempt's answer replaces it."""
        self._scrub.reset()
        if self._gate is not None:
            self._gate.reset()
        self._text.clear()
        self._reasoning.clear()
        self.timing.t_first_token = self.timing.t_last_token = None
        self._pending = False

    def _record(self, delta: Delta, now: int) -> None:
        self._pending = True
        if self.timing.t_first_token is None:
            self.timing.t_first_token = now
        self.timing.t_last_token = now
        (self._text if delta.kind == "text" else self._reasoning).append(delta.text)

    def _tag(self, error: RelayError) -> RelayError:
        """Attach the HTTP status and request id to an error raised while reading a 2xx body (its message
        already names the host: the parsers were given the transport's peer)."""
        if isinstance(error, APIError):
            if error.status is None:
                error.status = self.status
            if error.request_id is None:
                error.request_id = self.request_id
        return error

    def _broken(self, exc: httpx.HTTPError) -> TruncatedResponse:
        """The connection closed (or was reset) after the response had begun."""
        c = self._c
        n = len(self.text)
        got = f"after {n} character{'' if n == 1 else 's'}" if self._content_seen else "before any content"
        detail = clause(scrub(str(exc), c.key.value), 100) or type(exc).__name__
        kept = "; the partial answer is kept" if n else ""
        return TruncatedResponse(f"the response from {c.peer.name} broke off {got} ({detail}){kept}")

    def _truncated(self, parser: StreamParser) -> TruncatedResponse:
        c = self._c
        missing = c.fmt.end_marker if not parser.done else c.fmt.finish_field
        n = len(self.text)
        got = f"after {n} character{'' if n == 1 else 's'}" if self._content_seen else "with no content"
        return TruncatedResponse(
            f"the stream from {c.peer.name} ended {got} without {missing}; the answer is incomplete"
        )

    def _close_response(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            response.close()


def _clean(text: str | None, secret: str | None) -> str | None:
    return scrub(text, secret) if text is not None and secret else text
