"""What `relay chat` draws: answers (streamed markdown on a terminal, plain text otherwise), the footer
under each answer, command output, notes and errors.

:func:`make_view` picks :class:`RichView` for a terminal and :class:`PlainView` for a pipe or
``--plain``. Only this module and ``markdown_stream`` import rich, and only when a terminal needs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TextIO

from relaycli.datatypes import Delta, Notes
from relaycli.errors import RelayError
from relaycli.output.sinks import TextSink
from relaycli.output.streams import notes_to
from relaycli.usage.money import format_money

if TYPE_CHECKING:
    from relaycli.chat.markdown_stream import MarkdownStream
    from relaycli.pipeline import Answer


class AnswerSink(Protocol):
    def feed(self, text: str) -> None: ...

    def finish(self) -> None: ...


def interjecting(stream: MarkdownStream) -> Notes:
    """Notes for while an answer is drawn on the same terminal: each goes above the answer's unfinished
    tail (a retry notice, a budget warning) instead of into it."""
    return Notes(
        note=lambda text: stream.interject(f"relay: {text}"),
        warn=lambda text: stream.interject(f"relay: warning: {text}"),
    )


class View(Protocol):
    rich: bool

    def prompt(self, label: str, *, continuation: bool = False) -> str: ...

    def answer(self) -> AnswerSink: ...

    def notes_during(self, sink: AnswerSink) -> Notes: ...

    def footer(self, answer: Answer, *, asked_profile: str) -> None: ...

    def interrupted(self) -> None: ...

    def info(self, text: str) -> None: ...

    def note(self, text: str) -> None: ...

    def warn(self, text: str) -> None: ...

    def error(self, exc: RelayError) -> None: ...


def footer_text(answer: Answer, *, asked_profile: str | None = None) -> str:
    """``gpt-4.1 · 12 in / 40 out tokens · ¥0.0005 · TTFT 85 ms · 1.20 s``: cost in the billing currency."""
    r, u = answer.result, answer.result.usage

    def count(value: int | None) -> str:
        return "?" if value is None else f"{value:,}"

    if answer.billed is not None:
        cost = format_money(answer.billed, answer.profile.billing.currency)
    else:
        cost = "cost unknown" if not u.known else "unpriced"
    ttft = f"TTFT {r.timing.ttft_ms:,.0f} ms" if r.timing.ttft_ms is not None else "TTFT -"
    latency = r.timing.latency_ms
    took = "-" if latency is None else f"{latency / 1000:.2f} s" if latency >= 1000 else f"{latency:.0f} ms"
    fallback = f" · via {answer.profile.name}" if asked_profile not in (None, answer.profile.name) else ""
    retries = f" · {r.retries} retr{'y' if r.retries == 1 else 'ies'}" if r.retries else ""
    cached = ""
    if answer.cache is not None:
        from relaycli.config.cache import format_duration

        cached = f" · from the cache, stored {format_duration(answer.cache.age_s)} ago (/retry asks again)"
    return (
        f"{r.model or answer.model_asked}{fallback} · {count(u.prompt_tokens)} in / "
        f"{count(u.completion_tokens)} out tokens · {cost} · {ttft} · {took}{retries}{cached}"
    )


class _PlainSink:
    def __init__(self, out: TextIO) -> None:
        self._sink = TextSink(out)

    def feed(self, text: str) -> None:
        self._sink(Delta(text))

    def finish(self) -> None:
        self._sink.finish()


class PlainView:
    """Answers as plain text on stdout; footers, notes and errors on stderr (a pipe gets only data)."""

    rich = False

    def __init__(self, stdout: TextIO, stderr: TextIO) -> None:
        self.stdout, self.stderr = stdout, stderr

    def prompt(self, label: str, *, continuation: bool = False) -> str:
        return "... " if continuation else f"{label}> "

    def answer(self) -> AnswerSink:
        return _PlainSink(self.stdout)

    def notes_during(self, sink: AnswerSink) -> Notes:
        return notes_to(self.stderr)

    def footer(self, answer: Answer, *, asked_profile: str) -> None:
        self._err(f"[{footer_text(answer, asked_profile=asked_profile)}]")

    def interrupted(self) -> None:
        self._err("[interrupted]")

    def info(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def note(self, text: str) -> None:
        self._err(f"relay: {text}")

    def warn(self, text: str) -> None:
        self._err(f"relay: warning: {text}")

    def error(self, exc: RelayError) -> None:
        self._err(f"relay: error: {exc.message}")
        if exc.hint:
            self._err(f"relay: hint: {exc.hint}")

    def _err(self, line: str) -> None:
        self.stderr.write(line + "\n")
        self.stderr.flush()


class RichView:
    """A terminal: answers as streamed markdown, a dim footer, coloured notes and errors."""

    rich = True

    def __init__(self, stdout: TextIO, stderr: TextIO, *, frame_interval: float = 0.05) -> None:
        from rich.console import Console

        self.console = Console(file=stdout, force_terminal=True, highlight=False)
        self.err = Console(file=stderr, highlight=False, soft_wrap=True)
        self.stderr = stderr
        self.frame_interval = frame_interval

    def prompt(self, label: str, *, continuation: bool = False) -> str:
        if continuation:
            return "\001\033[2m\002...\001\033[0m\002 "
        return f"\001\033[1;36m\002{label}\001\033[0m\002 › "

    def answer(self) -> AnswerSink:
        from relaycli.chat.markdown_stream import MarkdownStream

        return MarkdownStream(self.console, frame_interval=self.frame_interval)

    def notes_during(self, sink: AnswerSink) -> Notes:
        """Where the pipeline's notes go while ``sink`` draws an answer: above it when both share a terminal."""
        from relaycli.chat.markdown_stream import MarkdownStream

        if isinstance(sink, MarkdownStream) and _isatty(self.stderr):
            return interjecting(sink)
        return notes_to(self.stderr)

    def footer(self, answer: Answer, *, asked_profile: str) -> None:
        self._dim(footer_text(answer, asked_profile=asked_profile))
        self.console.print()

    def interrupted(self) -> None:
        self._dim("interrupted")
        self.console.print()

    def info(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def note(self, text: str) -> None:
        from rich.text import Text

        self.err.print(Text(text, style="dim"))

    def warn(self, text: str) -> None:
        from rich.text import Text

        self.err.print(Text(f"warning: {text}", style="yellow"))

    def error(self, exc: RelayError) -> None:
        from rich.text import Text

        self.err.print(Text(f"error: {exc.message}", style="bold red"))
        if exc.hint:
            self.err.print(Text(f"hint: {exc.hint}", style="red"))

    def _dim(self, text: str) -> None:
        from rich.text import Text

        self.console.print(Text(text, style="dim"), soft_wrap=True)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def make_view(stdout: TextIO, stderr: TextIO, *, terminal: bool, plain: bool) -> View:
    if terminal and not plain:
        return RichView(stdout, stderr)
    return PlainView(stdout, stderr)
