"""A byte-level decoder for server-sent events (WHATWG HTML, "Server-sent events", parsing rules).

Pure: no I/O, standard library only. Feed it the response body chunk by chunk, in any split, and it
returns the events each chunk completes. Lines end at CRLF, LF or CR and nothing else: U+2028, U+0085
and form feeds are data (``str.splitlines`` would split on them and corrupt JSON). The work done is
linear in the size of the stream: a partial line is kept in a ``bytearray`` and never rescanned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BOM = b"\xef\xbb\xbf"
_LINE_END = re.compile(rb"\r\n|\r|\n")
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event. ``id`` is the last event id seen so far; ``retry`` is set by this event."""

    event: str
    data: str
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Incremental SSE decoder.

    ``comments`` counts comment lines (keep-alives such as ``: ping``); ``last_comment`` is the text of
    the latest one. ``retry`` is the last valid reconnection time the stream asked for (ms).
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._scan_from = 0  # bytes of _buf already known to hold no line end
        self._skip_lf = False  # the previous chunk ended with CR: a leading LF belongs to it
        self._bom_done = False
        self._data: list[str] = []
        self._event = ""
        self._event_retry: int | None = None
        self.last_id: str | None = None
        self.retry: int | None = None
        self.comments = 0
        self.last_comment: str | None = None
        self.lines = 0

    @property
    def pending(self) -> bool:
        """True when part of an event (or of a line) has been received but not dispatched."""
        return bool(self._buf) or bool(self._data) or bool(self._event)

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Add bytes from the stream; return the events they complete, in order."""
        if not chunk:
            return []
        start = 0
        if self._skip_lf:
            self._skip_lf = False
            if chunk[:1] == b"\n":
                start = 1
        buf = self._buf
        buf += chunk[start:] if start else chunk
        if not self._bom_done:
            if len(buf) < len(_BOM) and _BOM.startswith(bytes(buf)):
                return []  # could still be a BOM split across chunks
            if buf.startswith(_BOM):
                del buf[: len(_BOM)]
            self._bom_done = True
        events: list[SSEEvent] = []
        if 0x0D not in buf:  # lines end with LF alone (most servers): split them all at once
            last = buf.rfind(b"\n", self._scan_from)
            if last < 0:
                self._scan_from = len(buf)
                return events
            # LF never occurs inside a UTF-8 sequence, so decoding the lines together is decoding each
            lines = buf[:last].decode("utf-8", errors="replace").split("\n")
            del buf[: last + 1]
            self._scan_from = len(buf)
            add = self._line
            for line in lines:
                if line[:6] == "data: ":
                    self.lines += 1
                    self._data.append(line[6:])
                else:
                    add(line, events)
            return events
        pos = 0
        end = len(buf)
        scan = self._scan_from
        while True:
            match = _LINE_END.search(buf, scan)
            if match is None:
                break
            line_end, next_start = match.span()
            if next_start == end and next_start - line_end == 1 and buf[line_end] == 0x0D:
                # A bare CR at the very end: a line end either way; an LF opening the next chunk is its
                # pair. A CRLF at the end is complete: an LF opening the next chunk is a line end of its own.
                self._skip_lf = True
            self._line(buf[pos:line_end].decode("utf-8", errors="replace"), events)
            pos = scan = next_start
        if pos:
            del buf[:pos]
        self._scan_from = len(buf)
        return events

    def unfinished(self) -> SSEEvent | None:
        """The event that was being received when the stream ended, as if a blank line had followed
        (its last line may lack its line end). Nothing is dispatched: callers use it only to recognise
        an end marker sent without its final blank line, which the providers' SDKs accept."""
        events: list[SSEEvent] = []
        saved = (list(self._data), self._event, self._event_retry, self.lines)
        if self._buf:
            self._line(bytes(self._buf).decode("utf-8", errors="replace"), events)
        self._dispatch(events)
        self._data, self._event, self._event_retry, self.lines = saved
        return events[-1] if events else None

    def close(self) -> list[SSEEvent]:
        """End of stream: an unfinished event is discarded, as the spec requires."""
        self._buf.clear()
        self._scan_from = 0
        self._data = []
        self._event = ""
        self._event_retry = None
        return []

    def _line(self, line: str, events: list[SSEEvent]) -> None:
        self.lines += 1
        if not line:
            self._dispatch(events)
            return
        if line[0] == ":":
            self.comments += 1
            value = line[1:]
            self.last_comment = value[1:] if value.startswith(" ") else value
            return
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self.last_id = value
        elif name == "retry" and _DIGITS.fullmatch(value):
            self.retry = self._event_retry = int(value)
        # any other field is ignored

    def _dispatch(self, events: list[SSEEvent]) -> None:
        data, event, retry = self._data, self._event, self._event_retry
        self._data = []
        self._event = ""
        self._event_retry = None
        if not data:
            return
        events.append(SSEEvent(event=event or "message", data="\n".join(data), id=self.last_id, retry=retry))
