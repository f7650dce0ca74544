"""A tiny terminal emulator for tests: enough of VT100 to replay what the chat renderer writes (text,
CR, LF, erase line, cursor up, colours ignored) and read the screen back as plain lines."""

from __future__ import annotations

import re

_ESCAPE = re.compile(r"\x1b\[([\d;?]*)([A-Za-z])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


class Screen:
    def __init__(self, width: int) -> None:
        self.width = width
        self.rows: list[list[str]] = [[]]
        self.row = 0
        self.col = 0
        self.pending_wrap = False

    def feed(self, data: str) -> Screen:
        pos = 0
        for match in _ESCAPE.finditer(data):
            self._text(data[pos : match.start()])
            pos = match.end()
            if match.group(2):
                self._csi(int(match.group(1).split(";")[0].strip("?") or 1), match.group(2))
        self._text(data[pos:])
        return self

    def lines(self) -> list[str]:
        out = ["".join(row).rstrip() for row in self.rows]
        while out and not out[-1]:
            out.pop()
        return out

    def _text(self, text: str) -> None:
        for char in text:
            if char == "\n":  # a terminal's output processing turns LF into CR LF
                self._down()
                self.col, self.pending_wrap = 0, False
            elif char == "\r":
                self.col, self.pending_wrap = 0, False
            else:
                if self.pending_wrap:
                    self._down()
                    self.col, self.pending_wrap = 0, False
                row = self.rows[self.row]
                while len(row) <= self.col:
                    row.append(" ")
                row[self.col] = char
                if self.col == self.width - 1:
                    self.pending_wrap = True
                else:
                    self.col += 1

    def _down(self) -> None:
        self.row += 1
        while len(self.rows) <= self.row:
            self.rows.append([])

    def _csi(self, n: int, command: str) -> None:
        if command == "K":  # erase in line (relay uses 2: the whole line)
            self.rows[self.row] = []
        elif command == "A":
            self.row = max(self.row - n, 0)
            self.pending_wrap = False
        # "m" (colours) and anything else: no effect on the text
