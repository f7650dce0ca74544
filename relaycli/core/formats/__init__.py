"""The wire formats relay speaks, behind one interface: ``WireFormat`` (request paths, headers and bodies,
response, stream and model-list parsing, the request-id header) and the ``StreamParser`` it makes.

``for_protocol(profile.protocol)`` picks the format once per profile; nothing outside this package asks
which protocol a profile speaks. ``openai.py`` and ``anthropic.py`` implement it; ``common.py`` holds what
they share. Pure: no I/O, standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from relaycli.config.profile import Profile
    from relaycli.core.formats.common import Completion, Peer
    from relaycli.core.sse import SSEEvent
    from relaycli.datatypes import ChatRequest, Delta, ModelInfo, Usage

Endpoint = Literal["chat", "models"]


class StreamParser(Protocol):
    """Turns one response's decoded SSE events into Deltas and keeps what the stream said about itself."""

    model: str | None
    response_id: str | None
    finish_reason: str | None
    done: bool  # the end marker arrived

    @property
    def usage(self) -> Usage: ...

    @property
    def complete(self) -> bool:
        """The end marker and a finish reason both arrived."""
        ...

    def feed(self, ev: SSEEvent) -> list[Delta]:
        """The content the event carries; raises StreamError for an error event, EndpointError when malformed."""
        ...


class WireFormat(Protocol):
    """One API dialect: what to send, and how to read what comes back."""

    name: str
    end_marker: str  # how the stream says it is over, for messages: "data: [DONE]", "message_stop"
    finish_field: str  # the field that says why it stopped, for messages
    tool_marker: str  # a substring of events that carry tool-call arguments

    def path(self, base_path: str, endpoint: Endpoint) -> str:
        """The request path under a base URL's path (without a trailing slash)."""
        ...

    def models_params(self, after: str | None = None) -> dict[str, str]:
        """Query parameters of a model-list page (``after``: the cursor of the page before)."""
        ...

    def auth_headers(self, key: str | None) -> dict[str, str]: ...

    def build_request(
        self, req: ChatRequest, *, include_usage: bool = True, token_field: str | None = None
    ) -> dict[str, Any]: ...

    def parse_response(self, body: dict[str, Any], peer: Peer) -> Completion: ...

    def stream_parser(self, peer: Peer) -> StreamParser: ...

    def is_end(self, ev: SSEEvent) -> bool:
        """Whether an event is the end marker (recognised even without its final blank line)."""
        ...

    def request_id(self, headers: Mapping[str, str]) -> str | None: ...

    def parse_models(self, body: Any, peer: Peer) -> list[ModelInfo]: ...

    def next_page(self, body: Any) -> str | None:
        """The cursor of the next model-list page, or None after the last one."""
        ...


def for_protocol(protocol: str) -> WireFormat:
    """The wire format of a profile's ``protocol`` (``openai`` or ``anthropic``)."""
    if protocol == "openai":
        from relaycli.core.formats import openai

        return openai.FORMAT
    if protocol == "anthropic":  # each format is imported only when a profile speaks it
        from relaycli.core.formats import anthropic

        return anthropic.FORMAT
    from relaycli.errors import ConfigError

    raise ConfigError(f"unknown protocol {protocol!r}: expected one of openai, anthropic")


def request_headers(fmt: WireFormat, profile: Profile, key: str | None, *, stream: bool) -> dict[str, str]:
    """The headers of every request to a profile (httpx client, ping and bench alike): what to accept, who
    asks, the format's auth headers and the profile's own; a value with a line break is a ConfigError."""
    from relaycli import __version__
    from relaycli.core.formats.common import check_headers

    headers = {
        "Accept": "text/event-stream" if stream else "application/json",
        "User-Agent": f"relay/{__version__}",
        **fmt.auth_headers(key),
        **profile.headers,
    }
    check_headers(headers, profile=profile.name)
    return headers


def api_path(profile: Profile, what: Endpoint, *, query: str = "") -> str:
    """The request path of ``chat`` or ``models`` for a profile, with the base URL's own query (Azure's
    ``?api-version=...``) and ``query`` appended. The httpx client and the socket-level tools both use it."""
    parts = urlsplit(profile.base_url)
    path = for_protocol(profile.protocol).path(parts.path.rstrip("/"), what)
    joined = "&".join(q for q in (parts.query, query) if q)
    return f"{path}?{joined}" if joined else path


def api_url(profile: Profile, what: Endpoint) -> str:
    """``api_path`` as a full URL."""
    parts = urlsplit(profile.base_url)
    return f"{parts.scheme}://{parts.netloc}{api_path(profile, what)}"
