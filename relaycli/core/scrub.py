"""The one place a key is removed from text an endpoint sent back (some echo it in error bodies, page titles,
stream error events and headers), for every path: the httpx client, ``relay ping`` and ``relay bench``.

Standard library only. A key is replaced in every form it can take on the way: as is, without surrounding
whitespace, escaped by ``repr`` (str or bytes, e.g. ``b'Bearer sk-...\\r'`` in an illegal-header message), by
JSON, by HTML and by URL encoding.
"""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

from relaycli.errors import RelayError

MASK = "***"
_MIN_SECRET = 4


def secret_forms(secret: str | None) -> list[str]:
    """Every spelling of ``secret`` to remove, longest first (so a longer escape is not half-replaced)."""
    if not secret:
        return []
    import html  # only when there is a key to remove (a cache hit sends none)

    forms: set[str] = set()
    for value in {secret, secret.strip()}:
        if len(value) < _MIN_SECRET:
            continue
        forms.update(
            {
                value,
                repr(value)[1:-1],
                repr(value.encode("utf-8", "backslashreplace"))[2:-1],
                json.dumps(value)[1:-1],
                json.dumps(value, ensure_ascii=False)[1:-1],
                html.escape(value),
                quote(value, safe=""),
                quote_plus(value, safe=""),
            }
        )
    return sorted((f for f in forms if len(f) >= _MIN_SECRET), key=len, reverse=True)


def scrub(text: str, secret: str | None) -> str:
    """``text`` with every form of ``secret`` replaced by ``***``."""
    if not text or not secret:
        return text
    for form in secret_forms(secret):
        if form in text:
            text = text.replace(form, MASK)
    return text


def scrub_error(error: RelayError, secret: str | None) -> RelayError:
    """Remove ``secret`` from an error's message, arguments and hint, in place; returns the error."""
    if not secret:
        return error
    error.message = scrub(error.message, secret)
    error.args = tuple(scrub(a, secret) if isinstance(a, str) else a for a in error.args)
    if error.hint:
        error.hint = scrub(error.hint, secret)
    return error


_KNOWN: set[str] = set()  # every key this process resolved, for the last line of defence at the error boundary


def remember(secret: str | None) -> None:
    """Note a key in use, so ``scrub_known`` can remove it from text that no single request built (a traceback
    printed by ``--debug``, a message from a library)."""
    if secret and len(secret.strip()) >= _MIN_SECRET:
        _KNOWN.add(secret)


def scrub_known(text: str) -> str:
    """``text`` without any key this process has resolved, in any of its forms."""
    for secret in sorted(_KNOWN, key=len, reverse=True):
        text = scrub(text, secret)
    return text


class StreamScrub:
    """Removes a key from an answer that arrives in pieces (a server can echo the key back inside a 200
    stream, even split across two events). A piece is passed on at once, except for an end that could be
    the beginning of the key: that is held back until the next piece shows whether it was."""

    def __init__(self, secret: str | None) -> None:
        self._forms = secret_forms(secret)
        self._held: dict[str, str] = {}
        self.masked = 0  # how many times the key was found and replaced

    @property
    def holding(self) -> bool:
        """Whether an end that could begin the key is held back."""
        return bool(self._held)

    def feed(self, text: str, kind: str = "text") -> str:
        if not self._forms:
            return text
        joined = self._held.pop(kind, "") + text
        for form in self._forms:
            if form in joined:
                self.masked += joined.count(form)
                joined = joined.replace(form, MASK)
        keep = self._prefix_at_end(joined)
        if keep:
            self._held[kind] = joined[-keep:]
            return joined[:-keep]
        return joined

    def flush(self, kind: str = "text") -> str:
        """What was held back, once the answer ended (it was not the key)."""
        return self._held.pop(kind, "")

    def reset(self) -> None:
        self._held.clear()

    def _prefix_at_end(self, text: str) -> int:
        """The length of the longest end of ``text`` that begins some form of the key."""
        longest = 0
        for form in self._forms:
            for size in range(min(len(form) - 1, len(text)), longest, -1):
                if text.endswith(form[:size]):
                    longest = size
                    break
        return longest


def scrub_value(value: object, secret: str | None) -> object:
    """A JSON-like value (a usage object as the server sent it) with the key removed from every string."""
    if not secret:
        return value
    if isinstance(value, str):
        return scrub(value, secret)
    if isinstance(value, dict):
        return {scrub(str(k), secret): scrub_value(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_value(v, secret) for v in value]
    return value
