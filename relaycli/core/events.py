"""The wire events of a stream, for a caller that passes them on as they are (``relay serve``), in step with
the key scrubber.

A delta's text reaches the caller only once the scrubber is sure no key is in it (it holds back an end that
could begin one); the event that carried the text must wait as long, or the key would go out inside the
raw event. So events and their deltas are held together while the scrubber holds anything, and released
together: the events first, then the deltas. Events whose text held the key are never passed on: the
caller is told ``WITHHELD`` in their place, and from there on only the deltas (the key removed) tell the
answer truly.
"""

from __future__ import annotations

from collections.abc import Callable

from relaycli.core.scrub import StreamScrub, scrub
from relaycli.datatypes import Delta

__all__ = ["WITHHELD", "EventGate"]

WITHHELD = ""  # told to the caller in place of events whose text held the key
END_MARKER = "[DONE]"  # the caller says the end marker itself


class EventGate:
    def __init__(self, events: Callable[[str], None], scrubber: StreamScrub, secret: str | None) -> None:
        self._events = events
        self._scrub = scrubber
        self._secret = secret
        self._raw: list[str] = []
        self._out: list[Delta] = []

    def offer(self, data: str, clean: Callable[[], list[Delta]]) -> list[Delta]:
        """One event (``data``) and ``clean``, which passes its deltas through the scrubber: the deltas that
        may be yielded now (after the events they came in have gone to the caller)."""
        masked = self._scrub.masked
        if data != END_MARKER:
            self._raw.append(scrub(data, self._secret))
        self._out.extend(clean())
        if self._scrub.masked != masked:
            self._raw = [WITHHELD]
        return [] if self._scrub.holding else self.release()

    def release(self) -> list[Delta]:
        """Send what is held to the caller; the deltas to yield after it (the end of a stream: what the
        scrubber held back was not the key)."""
        raw, self._raw = self._raw, []
        for data in raw:
            self._events(data)
        out, self._out = self._out, []
        return out

    def reset(self) -> None:
        """A new attempt: nothing of an earlier one waits."""
        self._raw.clear()
        self._out.clear()
