"""RelayClient: chat requests and model lists over httpx, with retries, timeouts and timing.

This package is the one place httpx exceptions become RelayErrors (see ``errors_map.transport_error``);
they are always raised ``from`` the httpx exception. Redirects are never followed, so a key is only ever
sent to the profile's own host. Time, sleep and randomness are injected; tests pass an
``httpx.MockTransport`` (or a respx router) as ``transport``. The wire format is chosen once, here, from
the profile's protocol; a request's attempts go through a ``Transport``, which ``ResponseStream`` holds.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from types import TracebackType
from typing import Any

import httpx

from relaycli.config.profile import Profile, ResolvedKey
from relaycli.core.bridge import pause
from relaycli.core.formats import WireFormat, api_url, for_protocol
from relaycli.core.formats.common import as_str
from relaycli.core.proxy import environment_proxy
from relaycli.core.response import ResponseStream
from relaycli.core.retry import RetryPolicy
from relaycli.core.transport import Clocks, RetryNotice, Transport
from relaycli.datatypes import ChatRequest, ModelInfo, Result
from relaycli.errors import EndpointError, RelayError

__all__ = ["QUIRKS", "RelayClient", "RetryNotice"]

# Per-profile facts learned at run time, e.g. {"holysheep": {"no_stream_options": True}}.
QUIRKS: dict[str, dict[str, Any]] = {}


class RelayClient:
    def __init__(
        self,
        profile: Profile,
        key: ResolvedKey,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], int] = time.perf_counter_ns,
        sleep: Callable[[float], None] = pause,
        rand: Callable[[], float] = random.random,
        on_retry: Callable[[RetryNotice], None] | None = None,
        quirks: MutableMapping[str, Any] | None = None,
        wall_clock: Callable[[], float] = time.time,
        env: Mapping[str, str] | None = None,
        on_response: Callable[[int, Mapping[str, str]], None] | None = None,
        on_loop: bool = False,
    ) -> None:
        self.profile = profile
        self.key = key
        self.clock = clock
        self.quirks: MutableMapping[str, Any] = QUIRKS if quirks is None else quirks
        self.wire: WireFormat = for_protocol(profile.protocol)
        t = profile.timeout
        # The proxy the environment names for the profile's host, handed to httpx explicitly (every URL of a
        # client is on that host: redirects are never followed), so an error can name what was used.
        proxy = environment_proxy(profile.base_url, os.environ if env is None else env) if transport is None else None
        # Loading the CA bundle costs ~40 ms; a plain-http profile (a local server) never needs it, and no
        # redirect is followed, so the client can never reach an https host with it.
        verify = profile.base_url.startswith("https://")
        proxy_url = proxy.url if proxy is not None else None
        direct: httpx.BaseTransport | None = None
        if on_loop and transport is None:  # serve, batch: sent on the event loop (core/bridge.py)
            from relaycli.core.loop_transport import LoopTransport

            transport = direct = LoopTransport(verify=verify, proxy=proxy_url)
            proxy_url = None
        self.http = _Cookieless(
            transport=transport,
            proxy=proxy_url,
            timeout=httpx.Timeout(connect=t.connect, read=t.read, write=t.read, pool=t.connect),
            follow_redirects=False,
            verify=verify,
        )
        self.transport = Transport(
            self.http,
            profile,
            key,
            fmt=self.wire,
            clocks=Clocks(monotonic=clock, wall=wall_clock, sleep=sleep),
            policy=RetryPolicy(profile.retries, rand=rand, wall_clock=wall_clock),
            quirks=_ProfileQuirks(self.quirks, profile.name),
            on_retry=on_retry,
            suggest=self._close_matches,
            proxy=proxy,
            on_response=on_response,
            direct=direct,
        )

    # -- public API -----------------------------------------------------------------------------

    def stream(
        self,
        req: ChatRequest,
        *,
        shown: Callable[[], bool] | None = None,
        spent_s: float = 0.0,
        events: Callable[[str], None] | None = None,
    ) -> ResponseStream:
        """Start a request; iterate the result for Deltas. Nothing is sent until iteration starts.

        ``shown`` says whether anything the stream yielded has reached the user yet (default: anything
        yielded counts). While it is False a failed attempt is retried; a retry after deltas were yielded
        first yields ``Delta("", "restart")``: the deltas before it are void. ``spent_s``: time the request
        already waited (for a shared rate limit), taken from its total deadline. ``events`` is given the data
        of every event of the wire stream as it arrives, the key removed (``relay serve`` passes them on
        to a client of the same protocol), before the deltas it holds are yielded; an empty string in place
        of events whose text held the key (``events.WITHHELD``): from there on, only the deltas (the key
        removed) tell the answer truly."""
        return ResponseStream(self.transport, req, shown=shown, spent_s=spent_s, events=events)

    def complete(self, req: ChatRequest) -> Result:
        """Send a request and wait for all of it (streamed on the wire when ``req.stream``)."""
        with self.stream(req) as response:
            for _ in response:
                pass
            return response.result()

    def count_tokens(self, body: dict[str, Any], headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        """``POST {messages}/count_tokens`` (Anthropic's token counter), one attempt: the JSON answer, or the
        RelayError its failure is (the key removed)."""
        t = self.transport
        url = t.url("chat") + "/count_tokens"
        sent = {**t.headers(stream=False), **(headers or {})}
        try:
            try:
                response = self.http.post(url, json=body, headers=sent)
            except httpx.HTTPError as exc:
                raise t.transport_error(exc, url, connect_total=False, read_total=False)[0] from exc
            if not response.is_success:
                raise t.status_error(response, response.content[:65536], retries=0, model=as_str(body.get("model")))
            try:
                answer = response.json()
            except ValueError:
                answer = None
            if not isinstance(answer, dict):
                raise EndpointError(f"{t.peer.name} answered count_tokens with something that is not a JSON object")
            return answer
        except RelayError as exc:
            t.redact(exc)
            raise

    def list_models(self) -> list[ModelInfo]:
        try:
            return self.transport.list_models(retry=True)
        except RelayError as exc:
            self.transport.redact(exc)
            raise

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RelayClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- URLs -------------------------------------------------------------------------------------

    @property
    def chat_url(self) -> str:
        return api_url(self.profile, "chat")

    @property
    def models_url(self) -> str:
        return api_url(self.profile, "models")

    def _close_matches(self, model: str) -> list[str]:
        return self.transport.close_matches(model)


class _NoCookies(httpx.Cookies):
    """Cookies a server sets are not kept, and none are sent: a relay's API authenticates by its key, and
    reading every response's cookies costs more than parsing its stream."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


class _Cookieless(httpx.Client):
    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, value: Any) -> None:
        return None


_NO_COOKIES = _NoCookies()


class _ProfileQuirks(MutableMapping[str, Any]):
    """One profile's entry in the quirks mapping, created only when something is learned."""

    def __init__(self, quirks: MutableMapping[str, Any], name: str) -> None:
        self._all = quirks
        self._name = name

    def _entry(self) -> MutableMapping[str, Any]:
        entry = self._all.get(self._name)
        return entry if isinstance(entry, MutableMapping) else {}

    def __getitem__(self, key: str) -> Any:
        return self._entry()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._all.setdefault(self._name, {})[key] = value

    def __delitem__(self, key: str) -> None:
        del self._all[self._name][key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entry())

    def __len__(self) -> int:
        return len(self._entry())
