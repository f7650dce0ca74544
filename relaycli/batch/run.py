"""The body of ``relay batch``: check the input, open the output, run the loop, compact, sum up.

A FILE is read twice: once to count and check every line before anything is sent (a line that is not
valid JSON, has no prompt or a bad field, or repeats an id, is exit 2 naming the line), then lazily while
the requests go out. Stdin can be read once only: a bad line gets an error output line of its own (exit
code 2 in it) and the batch goes on; a repeated id stops the reading (the lines in flight are finished and
written) and is exit 2 naming both lines, since a second line with the same id would make the output
ambiguous.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from queue import SimpleQueue
from typing import IO, TYPE_CHECKING, TextIO

from relaycli.batch.input import Defaults, Source, binary_lines, numbered
from relaycli.batch.loop import Ending, Loop
from relaycli.batch.output import LineWriter, open_output
from relaycli.batch.resume import compact, succeeded
from relaycli.batch.tally import Tally
from relaycli.batch.workers import Event, Pool, Sending
from relaycli.datatypes import Notes
from relaycli.errors import OutputClosed, UsageError
from relaycli.pipeline.request import CacheUse

if TYPE_CHECKING:
    from relaycli.config.profile import Profile
    from relaycli.output.progress import Progress, ProgressBar
    from relaycli.output.streams import Streams
    from relaycli.pipeline import Pipeline
    from relaycli.pipeline.seams import Priority
    from relaycli.usage.prices import PriceTable

__all__ = ["BatchOptions", "BatchServices", "run_batch"]


@dataclass(frozen=True, slots=True)
class BatchOptions:
    input: str | None  # a path; None or "-": stdin
    defaults: Defaults
    plain: bool = False
    concurrency: int = 4
    priority: Priority = "low"
    cache: CacheUse = field(default_factory=CacheUse.from_flags)
    output: Path | None = None  # None: stdout
    resume: Path | None = None
    ordered: bool = True
    dry_run: bool = False
    grace_s: float = 5.0

    @property
    def path(self) -> Path | None:
        return None if self.input in (None, "-") else Path(str(self.input))


@dataclass(frozen=True, slots=True)
class BatchServices:
    pipeline: Callable[[], Pipeline]
    streams: Streams
    profile: Profile
    prices: Callable[[], PriceTable]


def run_batch(services: BatchServices, options: BatchOptions) -> int:
    streams = services.streams
    if options.path is None and streams.stdin_isatty:
        raise UsageError("no input: give a FILE of prompts, or pipe them on stdin", hint="relay batch prompts.jsonl")
    skip = succeeded(options.resume) if options.resume is not None else set()
    total: int | None = None
    if options.path is not None:
        total = _count(options, skip)
    with _input(options, streams) as handle:
        # A FILE's ids were checked by the count; they are kept again only for compacting (--resume).
        source = _source(handle, options, skip, checked=options.path is not None and options.resume is None)
        if options.dry_run:
            return _dry_run(services, source)
        return _send(services, options, source, total)


def _send(services: BatchServices, options: BatchOptions, source: Source, total: int | None) -> int:
    streams, started = services.streams, time.monotonic()
    bar = _progress(streams)
    notes = Notes(
        note=lambda t: _say(bar, streams, f"relay: {t}"), warn=lambda t: _say(bar, streams, f"relay: warning: {t}")
    )
    target = options.resume or options.output
    out: TextIO = open_output(target, append=options.resume is not None) if target is not None else streams.stdout
    if bar is not None and target is None and streams.stdout_isatty:
        out = _UnderBar(out, bar)  # type: ignore[assignment]  # stdout on the bar's terminal: lines above it
    events: SimpleQueue[Event] = SimpleQueue()
    model = options.defaults.model or ""
    sending = Sending(services.pipeline(), services.profile, options.cache, options.priority, notes, model)
    pool = Pool(
        sending,
        source,
        events,
        size=options.concurrency,
        window=options.concurrency * 8,
        slow_input=options.path is None,  # stdin may be a pipe that takes its time
    )
    writer = LineWriter(out, ordered=options.ordered, name=str(target or "stdout"), written=pool.free)
    tally = Tally()

    def tick() -> None:
        if bar is not None and bar.due():
            bar.update(_snapshot(tally, total, time.monotonic() - started))

    try:
        ending = Loop(pool, events, writer, tally, tick=tick, grace_s=options.grace_s).run()
    finally:
        if bar is not None:
            bar.clear()
        if target is not None:
            with contextlib.suppress(OSError):
                out.close()
    return _finish(services, options, source, tally, ending, total, time.monotonic() - started)


def _finish(
    services: BatchServices,
    options: BatchOptions,
    source: Source,
    tally: Tally,
    ending: Ending,
    total: int | None,
    wall_s: float,
) -> int:
    streams = services.streams
    if isinstance(ending.output, OutputClosed):
        return 0  # the reader of stdout went away: a normal end
    if ending.clean and options.resume is not None:
        done = compact(options.resume, source.ids)
        if done.dropped:
            streams.note(f"{options.resume}: {done.dropped:,} lines of ids not in the input were left out")
    unsent = total - tally.done if total is not None and not ending.clean else 0
    summary = tally.summary(wall_s, skipped=source.skipped, unsent=max(unsent, 0), stopped_by=ending.signal_name)
    streams.note(summary)
    if ending.output is not None:
        raise ending.output
    if ending.signal_code is not None or ending.error is not None:
        streams.note(f"to go on: {_resume_command(options, streams)}")
        if ending.error is not None:
            raise ending.error
        assert ending.signal_code is not None
        return ending.signal_code
    if tally.errors:
        streams.note(f"to send the {tally.errors:,} failed again: {_resume_command(options, streams)}")
    return tally.exit_code()


def _dry_run(services: BatchServices, source: Source) -> int:
    from relaycli.batch.dryrun import estimate, report

    est = estimate(source, services.profile, services.prices())
    out = services.streams.stdout
    out.write("\n".join(report(est, services.profile, skipped=source.skipped)) + "\n")
    out.flush()
    return 2 if est.bad else 0


# -- input ------------------------------------------------------------------------------------------
def _source(handle: IO[bytes] | TextIO, options: BatchOptions, skip: set[str], *, checked: bool = False) -> Source:
    name = str(options.path) if options.path is not None else "stdin"
    lines = numbered(binary_lines(handle))
    return Source(lines, name=name, defaults=options.defaults, plain=options.plain, skip=skip, checked=checked)


def _count(options: BatchOptions, skip: set[str]) -> int:
    """The lines of FILE to send, every one checked first (its ids are dropped afterwards)."""
    assert options.path is not None
    with _opened(options.path) as handle:
        return sum(1 for entry in _source(handle, options, skip) if not _bad(entry))


def _bad(entry: object) -> bool:
    from relaycli.batch.input import BadLine

    if isinstance(entry, BadLine):
        raise entry.error  # a FILE is checked in full before anything is sent
    return False


@contextlib.contextmanager
def _input(options: BatchOptions, streams: Streams) -> Iterator[IO[bytes] | TextIO]:
    if options.path is None:
        yield streams.stdin
        return
    with _opened(options.path) as handle:
        yield handle


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[IO[bytes]]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        yield handle


# -- terminal ---------------------------------------------------------------------------------------
def _progress(streams: Streams) -> ProgressBar | None:
    if not streams.stderr_isatty:
        return None
    from relaycli.output.progress import ProgressBar

    return ProgressBar(streams.stderr)


def _snapshot(tally: Tally, total: int | None, elapsed_s: float) -> Progress:
    from relaycli.output.progress import Progress

    return Progress(tally.done, total, tally.errors, tally.tokens, tally.cost(), elapsed_s)


class _UnderBar:
    """Stdout on the terminal the progress bar is drawn on: each line is written above the bar."""

    def __init__(self, out: TextIO, bar: ProgressBar) -> None:
        self.out = out
        self.bar = bar

    def write(self, text: str) -> int:
        self.bar.write_through(self.out, text)
        return len(text)

    def flush(self) -> None:
        self.out.flush()

    def fileno(self) -> int:
        return self.out.fileno()


def _say(bar: ProgressBar | None, streams: Streams, line: str) -> None:
    if bar is not None:
        bar.note(line)
    else:
        streams.stderr.write(line + "\n")
        streams.stderr.flush()


def _resume_command(options: BatchOptions, streams: Streams) -> str:
    """``relay batch prompts.jsonl --resume out.jsonl`` (with the same options as this run)."""
    out = options.resume or options.output
    name = shlex.quote(str(out)) if out is not None else _stdout_file(streams.stdout)
    if name is None:
        name = "OUT  (OUT: the file the output went to)"
    if options.path is not None:
        return f"relay batch {shlex.quote(str(options.path))} --resume {name}  (with the same options)"
    return f"relay batch --resume {name} < INPUT  (the same input, with the same options)"


def _stdout_file(stdout: TextIO) -> str | None:
    """The path of the regular file stdout was sent to (``> out.jsonl``), where the system says it."""
    try:
        fd = stdout.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return shlex.quote(os.readlink(f"/proc/self/fd/{fd}"))
    except (AttributeError, ValueError, OSError):
        return None
