"""HTTP error statuses and time limits as RelayErrors whose messages say what to do next. Pure: the httpx
client and the raw-socket tools (``relay ping``, ``relay bench``) build their errors here alike."""

from __future__ import annotations

from typing import Any

from relaycli.config.profile import Profile
from relaycli.core.formats.common import Peer
from relaycli.errors import APIError, AuthError, EndpointError, RateLimited, RelayTimeout


def timeout_error(limit: str, seconds: float, profile: Profile) -> RelayTimeout:
    """``limit``: connect, read, write, pool, content-idle or total."""
    what = {
        "connect": f"could not connect to {profile.host} within {seconds:g} s",
        "read": f"{profile.host} sent nothing for {seconds:g} s",
        "write": f"could not send the request to {profile.host} within {seconds:g} s",
        "pool": f"no free connection to {profile.host} within {seconds:g} s",
        "content-idle": f"{profile.host} kept the connection alive but sent no new content for {seconds:g} s",
        "total": f"the request to {profile.host} took more than {seconds:g} s in all",
    }.get(limit, f"{limit} limit of {seconds:g} s reached")
    t = profile.timeout
    return RelayTimeout(
        f"{limit} timeout: {what} (profile '{profile.name}'). The limit is set by "
        f"`timeout = {{ connect = {t.connect:g}, read = {t.read:g}, total = {t.total:g} }}` in the profile."
    )


def _retried(retries: int) -> str:
    if not retries:
        return ""
    return f" after {retries} {'retry' if retries == 1 else 'retries'}"


def status_error(
    status: int,
    *,
    message: str,
    peer: Peer,
    key_source: str,
    key_sent: bool,
    request_id: str | None,
    retries: int = 0,
    model: str | None = None,
    suggestions: list[str] | None = None,
    url: str | None = None,
) -> APIError:
    """The error for an HTTP error status (after retries, where they apply)."""
    said = f": {message}" if message else ""
    where = peer.name
    kw: dict[str, Any] = {"status": status, "request_id": request_id}
    if status in (401, 403):
        refused = "rejected the API key" if status == 401 else "refused access"
        key = f"key from {key_source}" if key_sent else f"no key was sent ({key_source})"
        return AuthError(
            f"HTTP {status}: {where} {refused}; {key}{said}",
            hint=f"check the key ({key_source}) and that it is meant for {peer.host}",
            **kw,
        )
    if status == 404:
        if suggestions is not None and model:
            guess = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
            return APIError(
                f"HTTP 404: model {model!r} not found at {where}{said.rstrip('.')}.{guess} "
                f"Run `relay models -p {peer.profile}` to list the models it offers.",
                **kw,
            )
        path = f" for {url}" if url else ""
        return APIError(
            f"HTTP 404: not found at {where}{path}{said}",
            hint="check base_url in the profile (does it need a /v1 suffix?)",
            **kw,
        )
    if status == 429:
        return RateLimited(f"HTTP 429: rate limited by {where}{_retried(retries)}{said}", **kw)
    if 500 <= status <= 599:
        return EndpointError(f"HTTP {status}: server error from {where}{_retried(retries)}{said}", **kw)
    if 300 <= status <= 399:
        return EndpointError(
            f"HTTP {status}: {where} answered with a redirect{said}; relay does not follow redirects "
            "(the key must not go to another host): fix base_url",
            **kw,
        )
    about = f" (model {model!r})" if model else ""
    return APIError(f"HTTP {status}: {where} rejected the request{about}{_retried(retries)}{said}", **kw)
