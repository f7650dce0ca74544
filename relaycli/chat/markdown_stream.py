"""Streaming markdown for a terminal: finished lines are printed once, only the unfinished tail is redrawn.

:class:`~relaycli.chat.blocks.BlockSplitter` decides what is finished. Each finished block is rendered
with rich (``Markdown`` for prose and tables, ``Syntax`` for fenced code, in the theme rich's own
``Markdown`` uses) and written permanently. The tail -- the partial last line, an open table, the last
lines of an open code block -- lives in a small region below it: to redraw it, the cursor goes back to
the region's first row, erases it and writes the new tail. Nothing already committed is ever rendered
again, so the cost of a chunk does not grow with the answer (``benchmarks/render.py`` measures it).

Redraws of the tail alone are limited to one per ``frame_interval`` seconds of the injected ``clock``
(a terminal shows no more than that anyway), and to about a tenth of the time when the tail is huge; a
chunk that finishes a line always redraws, and :meth:`MarkdownStream.finish` writes everything left.
``frame_interval=0`` redraws on every chunk.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, RenderableType
from rich.control import Control, ControlType
from rich.markdown import Markdown
from rich.segment import Segment, Segments
from rich.syntax import Syntax
from rich.text import Text

from relaycli.chat.blocks import Block, BlockSplitter, Tail

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

Row = list[Segment]
CODE_THEME = "monokai"
PARTIAL_CONTEXT = 8  # lines of lexer context for the code line being typed


class MarkdownStream:
    """Feed it the answer's text as it arrives; call :meth:`finish` at the end (or on Ctrl-C)."""

    def __init__(
        self,
        console: Console,
        *,
        clock: Callable[[], float] = time.monotonic,
        frame_interval: float = 0.05,
        code_theme: str = CODE_THEME,
    ) -> None:
        self.console = console
        self.clock = clock
        self.frame_interval = frame_interval
        self.code_theme = code_theme
        self.splitter = BlockSplitter()
        self.redraws = 0  # draws (for tests and the benchmark)
        self.committed_rows = 0
        self._height = 0  # rows the tail occupies now; the cursor is at the end of its last row
        self._last_draw = float("-inf")
        self._draw_cost = 0.0
        self._code_key: object = None
        self._code_cache: list[Row] = []
        self._template: Markdown | None = None
        self._parser: MarkdownIt | None = None
        self._code_bg = Syntax.get_theme(code_theme).get_background_style()

    # -- the stream -------------------------------------------------------------------------------
    def feed(self, text: str) -> None:
        blocks = self.splitter.feed(text)
        if blocks:
            self._draw(blocks, self.splitter.tail())
            return
        now = self.clock()
        # at most one tail-only redraw a frame, and (for a huge tail) at most ~10% of the time
        limit = max(self.frame_interval, 10 * self._draw_cost) if self.frame_interval > 0 else 0.0
        if now - self._last_draw >= limit:
            self._draw((), self.splitter.tail(), now)
            self._draw_cost = max(self.clock() - now, 0.0)

    def interject(self, text: str) -> None:
        """Write ``text`` (a warning, say) above the tail, which is drawn again below it."""
        self._draw((), self.splitter.tail(), before=text)

    def finish(self) -> None:
        """Commit everything left (the tail included) and leave the cursor at the start of a new row."""
        self._draw(self.splitter.finish(), Tail("prose"))

    # -- drawing ----------------------------------------------------------------------------------
    def _draw(
        self, blocks: tuple[Block, ...] | list[Block], tail: Tail, now: float | None = None, before: str = ""
    ) -> None:
        options = self.console.options
        rows: list[Row] = []
        for block in blocks:
            rows.extend(self._block_rows(block, options))
        tail_rows = self._tail_rows(tail, options)
        limit = max(self.console.height - 1, 1)
        if len(tail_rows) > limit:
            tail_rows = tail_rows[-limit:]
        console = self.console
        with console:  # one write to the terminal
            if self._height:
                console.control(
                    Control(
                        ControlType.CARRIAGE_RETURN,
                        (ControlType.ERASE_IN_LINE, 2),
                        *((ControlType.CURSOR_UP, 1), (ControlType.ERASE_IN_LINE, 2)) * (self._height - 1),
                    )
                )
            if before:
                console.print(Text(before.rstrip("\n")))
            if rows:
                console.print(Segments(_join(rows, final_newline=True)), end="")
            if tail_rows:
                console.print(Segments(_join(tail_rows, final_newline=False)), end="")
        self._height = len(tail_rows)
        self.committed_rows += len(rows)
        self.redraws += 1
        self._last_draw = self.clock() if now is None else now

    def _block_rows(self, block: Block, options: ConsoleOptions) -> list[Row]:
        if block.kind == "blank":
            return [[]]
        if block.kind == "prose":
            return self._markdown_rows(block.lines[0], block.indent, options)
        if block.kind == "table":
            return self._markdown_rows("\n".join(block.lines), 0, options)
        if block.kind in ("code_start", "code_end"):
            return [[Segment(" " * options.max_width, self._code_bg)]]
        return self._code_rows(block.context, block.lines, block.lang, options)

    def _tail_rows(self, tail: Tail, options: ConsoleOptions) -> list[Row]:
        if tail.empty:
            return []
        if tail.kind == "code":
            return self._code_tail_rows(tail, options)
        if tail.kind == "table":
            return self._markdown_rows("\n".join((*tail.lines, tail.partial)), 0, options)
        return self._markdown_rows(tail.partial, tail.indent, options)

    def _code_tail_rows(self, tail: Tail, options: ConsoleOptions) -> list[Row]:
        """The open lines of a code block (highlighted once per new line) and the line being typed
        (highlighted with the few lines before it as context)."""
        key = (tail.context, tail.lines, tail.lang, options.max_width)
        if key != self._code_key:
            self._code_key = key
            self._code_cache = self._code_rows(tail.context, tail.lines, tail.lang, options) if tail.lines else []
        rows = list(self._code_cache)
        if tail.partial:
            before = (*tail.context, *tail.lines)[-PARTIAL_CONTEXT:]
            rows.extend(self._code_rows(before, (tail.partial,), tail.lang, options))
        return rows

    def _markdown_rows(self, markup: str, indent: int, options: ConsoleOptions) -> list[Row]:
        indent = min(indent, options.max_width // 3)
        width = max(options.max_width - indent, 10)
        rows = self._render(self._markdown(markup), options.update_width(width))
        rows = [_rstrip(row) for row in _trim(rows)]
        if not rows:  # e.g. an HTML line, which rich's Markdown leaves out: show it as it is
            rows = self._render(Text(markup), options.update_width(width))
        if indent:
            pad = Segment(" " * indent)
            rows = [[pad, *row] for row in rows]
        return rows

    def _markdown(self, markup: str) -> Markdown:
        """``Markdown(markup)`` without building a new parser each time (a third of the cost of a line)."""
        if self._template is None or self._parser is None:
            from markdown_it import MarkdownIt

            self._template = Markdown("", code_theme=self.code_theme)
            self._parser = MarkdownIt().enable("strikethrough").enable("table")  # as rich's Markdown
        document = Markdown.__new__(Markdown)
        document.__dict__.update(self._template.__dict__)
        document.markup, document.parsed = markup, self._parser.parse(markup)
        return document

    def _code_rows(
        self, context: tuple[str, ...], lines: tuple[str, ...], lang: str, options: ConsoleOptions
    ) -> list[Row]:
        first = len(context) + 1
        syntax = Syntax(
            "\n".join((*context, *lines)),
            lang or "text",
            theme=self.code_theme,
            word_wrap=True,
            padding=(0, 1),
            line_range=(first, first + len(lines) - 1),
        )
        return self._render(syntax, options)

    def _render(self, renderable: RenderableType, options: ConsoleOptions) -> list[Row]:
        return self.console.render_lines(renderable, options, pad=False)


def _trim(rows: list[Row]) -> list[Row]:
    """Drop the blank rows rich puts around lists, quotes, tables and rules."""

    def blank(row: Row) -> bool:
        return all(not seg.text.strip() and not (seg.style and seg.style.bgcolor) for seg in row)

    start, end = 0, len(rows)
    while start < end and blank(rows[start]):
        start += 1
    while end > start and blank(rows[end - 1]):
        end -= 1
    return rows[start:end]


def _rstrip(row: Row) -> Row:
    """Without the spaces rich pads a line with (a full-width row makes the terminal wrap early, for
    instance when it echoes ^C, and the tail's row count would be off)."""
    end = len(row)
    while end:
        last = row[end - 1]
        if last.text.strip() or last.control or (last.style is not None and last.style.bgcolor is not None):
            break
        end -= 1
    return row[:end]


def _join(rows: list[Row], *, final_newline: bool) -> list[Segment]:
    out: list[Segment] = []
    newline = Segment.line()
    for index, row in enumerate(rows):
        out.extend(row)
        if final_newline or index < len(rows) - 1:
            out.append(newline)
    return out
