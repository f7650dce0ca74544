"""Split a streamed markdown answer into finished pieces and an unfinished tail. Pure: no rich, no I/O.

Text arrives in arbitrary chunks. Each complete line becomes a :class:`Block` at once (a prose line, a
blank line, a table, or lines of a fenced code block); what is not finished yet is the :class:`Tail`:
the partial last line, plus an open table or the last few lines of an open code block. The renderer
prints blocks once, permanently, and redraws only the tail, so the work per chunk depends on the size
of the tail, never on the length of the answer. The tail is bounded:

* an open code block commits its lines in batches of ``CODE_BATCH`` once ``2 * CODE_BATCH`` are open,
  each batch highlighted with up to ``CODE_CONTEXT`` earlier lines of the block as lexer context;
* an open table commits after ``TABLE_ROWS`` rows and goes on under a repeated header;
* a partial line longer than ``LONG_LINE`` characters is split at a space outside inline markup.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import Literal

CODE_BATCH = 8
CODE_CONTEXT = 24
TABLE_ROWS = 40
LONG_LINE = 3000

_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})\s*([^\s`]*)[^`]*$")
_FENCE_START = re.compile(r" {0,3}(`{1,2}|~{1,2})")
_LIST = re.compile(r"^(\s*)([-*+]|\d{1,9}[.)])\s+")
BlockKind = Literal["prose", "blank", "table", "code_start", "code", "code_end"]


@dataclass(frozen=True, slots=True)
class Block:
    """A finished piece of the answer.

    ``prose``: one markdown line (``lines[0]``, its indentation in ``indent``); ``blank``: a paragraph
    break; ``table``: the rows of a table; ``code_start``/``code_end``: the edges of a fenced block;
    ``code``: lines of a fenced block in ``lang``, with ``context`` (earlier lines of the same block)
    for the lexer.
    """

    kind: BlockKind
    lines: tuple[str, ...] = ()
    indent: int = 0
    lang: str = ""
    context: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Tail:
    """The unfinished end of the answer. ``kind`` says how to draw it: ``prose`` (just ``partial``),
    ``table`` (``lines`` + ``partial``) or ``code`` (``context``, ``lines`` + ``partial``)."""

    kind: Literal["prose", "table", "code"]
    partial: str = ""
    lines: tuple[str, ...] = ()
    indent: int = 0
    lang: str = ""
    context: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.partial and not self.lines


class BlockSplitter:
    """Feed text in any chunks; get finished blocks back; ask for the tail whenever it is to be drawn."""

    def __init__(self) -> None:
        self._partial: list[str] = []  # pieces of the unfinished line (joined lazily: linear in chunks)
        self._partial_len = 0
        self._table: list[str] = []
        self._fence: tuple[str, int] | None = None  # (fence character, length) of an open code block
        self._fence_indent = 0
        self._lang = ""
        self._code_done: deque[str] = deque(maxlen=CODE_CONTEXT)
        self._code_open: list[str] = []
        self._blank_pending = False
        self._started = False

    # -- input ------------------------------------------------------------------------------------
    def feed(self, text: str) -> list[Block]:
        out: list[Block] = []
        *complete, rest = text.split("\n")
        for piece in complete:
            self._partial.append(piece)
            line = "".join(self._partial).rstrip("\r")
            self._partial, self._partial_len = [], 0
            self._line(line, out)
        if rest:
            self._partial.append(rest)
            self._partial_len += len(rest)
        if self._fence is None and not self._table and self._partial_len > LONG_LINE:
            self._split_long(out)
        return out

    def finish(self) -> list[Block]:
        """Everything that is left, as finished blocks (the end of the answer, or an interruption)."""
        out: list[Block] = []
        if self._partial:
            line = "".join(self._partial)
            self._partial, self._partial_len = [], 0
            self._line(line, out)
        if self._fence is not None:
            self._close_code(out)
        self._flush_table(out)
        return out

    def tail(self) -> Tail:
        partial = "".join(self._partial)
        if len(self._partial) > 1:
            self._partial = [partial]
        if self._fence is not None:
            return Tail(
                "code",
                partial=_dedent(partial, self._fence_indent),
                lines=tuple(self._code_open),
                lang=self._lang,
                context=tuple(self._code_done),
            )
        if self._table:
            return Tail("table", partial=partial if partial.lstrip().startswith("|") else "", lines=tuple(self._table))
        if not partial.strip() or _FENCE.match(partial) or _FENCE_START.fullmatch(partial):
            return Tail("prose")  # only spaces so far, or a code fence being typed: nothing to show yet
        stripped = partial.lstrip()
        return Tail("prose", partial=stripped, indent=len(partial) - len(stripped))

    # -- lines ------------------------------------------------------------------------------------
    def _line(self, line: str, out: list[Block]) -> None:
        if self._fence is not None:
            self._code_line(line, out)
            return
        fence = _FENCE.match(line)
        if fence:
            self._flush_table(out)
            self._emit_blank(out)
            marker = fence.group(2)
            self._fence, self._fence_indent = (marker[0], len(marker)), len(fence.group(1))
            self._lang = fence.group(3) or ""
            self._code_done.clear()
            out.append(Block("code_start", lang=self._lang))
            return
        if line.lstrip().startswith("|"):
            self._emit_blank(out)
            self._table.append(line.strip())
            if len(self._table) >= TABLE_ROWS:
                header = self._table[:2] if len(self._table) > 2 and _is_separator(self._table[1]) else []
                self._flush_table(out)
                self._table = list(header)
            return
        self._flush_table(out)
        if not line.strip():
            self._blank_pending = self._started
            return
        self._emit_blank(out)
        stripped = line.lstrip()
        out.append(Block("prose", lines=(stripped,), indent=len(line) - len(stripped)))
        self._started = True

    def _code_line(self, line: str, out: list[Block]) -> None:
        char, length = self._fence or ("`", 3)
        candidate = line.strip()
        if len(line) - len(line.lstrip(" ")) <= 3 and candidate.startswith(char * length) and not candidate.strip(char):
            self._close_code(out)
            return
        self._code_open.append(_dedent(line, self._fence_indent))
        if len(self._code_open) >= 2 * CODE_BATCH:
            batch, self._code_open = self._code_open[:CODE_BATCH], self._code_open[CODE_BATCH:]
            out.append(Block("code", lines=tuple(batch), lang=self._lang, context=tuple(self._code_done)))
            self._code_done.extend(batch)

    def _close_code(self, out: list[Block]) -> None:
        if self._code_open:
            out.append(Block("code", lines=tuple(self._code_open), lang=self._lang, context=tuple(self._code_done)))
        out.append(Block("code_end", lang=self._lang))
        self._fence, self._code_open = None, []
        self._code_done.clear()
        self._started, self._blank_pending = True, True

    def _flush_table(self, out: list[Block]) -> None:
        if self._table:
            out.append(Block("table", lines=tuple(self._table)))
            self._table = []
            self._started = True

    def _emit_blank(self, out: list[Block]) -> None:
        if self._blank_pending:
            out.append(Block("blank"))
            self._blank_pending = False

    def _split_long(self, out: list[Block]) -> None:
        """Commit the front of a very long unfinished line, so redrawing the tail stays cheap."""
        line = "".join(self._partial)
        cut = _safe_cut(line, LONG_LINE)
        head, rest = line[:cut].rstrip(), line[cut:].lstrip()
        marker = _LIST.match(head)
        indent = len(marker.group(0)) if marker else len(head) - len(head.lstrip())
        self._emit_blank(out)
        out.append(Block("prose", lines=(head.lstrip(),), indent=len(head) - len(head.lstrip())))
        self._started = True
        self._partial = [" " * indent + rest]
        self._partial_len = indent + len(rest)


def _dedent(line: str, indent: int) -> str:
    """Take off up to ``indent`` leading spaces (a fenced block inside a list item)."""
    if not indent:
        return line
    strip = min(indent, len(line) - len(line.lstrip(" ")))
    return line[strip:]


def _is_separator(row: str) -> bool:
    return bool(row) and set(row.replace(" ", "")) <= set("|:-") and "-" in row


def _safe_cut(line: str, limit: int) -> int:
    """Where to split a long line: the last space before ``limit`` with no inline code, emphasis or link
    open before it; else the last space; else ``limit`` itself (a line with no space at all)."""
    last = space = line.rfind(" ", 0, limit)
    for _ in range(32):
        if space <= 0:
            break
        head = line[:space]
        if (
            head.count("`") % 2 == 0
            and head.count("**") % 2 == 0
            and head.replace("**", "").count("*") % 2 == 0
            and head.count("[") == head.count("]")
        ):
            return space
        space = line.rfind(" ", 0, space)
    return last if last > 0 else limit
