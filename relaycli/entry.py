"""Console-script entry point and the one error boundary.

``main`` answers ``--version`` before importing anything heavy, runs the common ``relay stream`` command
lines without typer (``commands/streaming.py``), and hands everything else to the typer app (``cli.py``).
``guarded`` is the boundary both go through: a ``RelayError`` becomes one or two lines on stderr and its
exit code, Ctrl-C / SIGTERM / SIGHUP exit 130 / 143 / 129, a reader that left stdout ends quietly, and a
bug is one line (``--debug``: the traceback), every key in use removed from what is printed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from relaycli.errors import ExitCode, RelayError, Terminated, interrupt_exit_code


def _closed_streams() -> None:
    """Started with stdout or stderr closed (``relay ... >&-``): write to nowhere instead of failing."""
    import os

    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - for the whole process


def main() -> None:
    _closed_streams()
    if sys.argv[1:] == ["--version"]:
        from relaycli import __version__

        sys.stdout.write(f"relay {__version__}\n")
        return
    if sys.argv[1:2] == ["stream"]:
        from relaycli.commands.streaming import quick

        quick(sys.argv[2:])  # exits when it could read the line
    from relaycli.cli import run

    run()


def guarded(body: Callable[[], None], *, debug: Callable[[], bool] = lambda: False) -> None:
    """Run ``body`` inside the error boundary (``debug``: whether ``--debug`` was given, asked when it
    matters)."""
    handle_termination()
    from relaycli.output.sinks import Diagnostics

    if not isinstance(sys.stderr, Diagnostics):
        sys.stderr = Diagnostics(sys.stderr)  # type: ignore[assignment]
    try:
        body()
    except RelayError as exc:
        if debug():
            print_traceback()
        report(exc)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt as exc:
        sys.exit(interrupt_exit_code(exc))
    except BrokenPipeError:  # `relay models | head -1`: the reader left; end quietly
        reader_left()
    except Exception as exc:  # a bug: say so in one line unless --debug
        from relaycli.core.scrub import scrub_known

        if debug():
            print_traceback()
        else:
            sys.stderr.write(
                scrub_known(f"relay: internal error: {type(exc).__name__}: {exc} (rerun with --debug)") + "\n"
            )
        sys.exit(int(ExitCode.ERROR))


def report(exc: RelayError) -> None:
    from relaycli.core.scrub import scrub_known

    lines = [f"relay: error: {exc.message}"]
    if exc.hint:
        lines.append(f"relay: hint: {exc.hint}")
    sys.stderr.write(scrub_known("\n".join(lines)) + "\n")


def print_traceback() -> None:
    """``--debug``: the traceback of the exception being handled, with every key in use removed."""
    import traceback

    from relaycli.core.scrub import scrub_known

    sys.stderr.write(scrub_known(traceback.format_exc()))


RECEIVED: list[int] = []  # the termination signal that arrived, if any


def _terminate(signum: int, frame: object) -> None:
    RECEIVED.append(signum)
    raise Terminated(signum)


def handle_termination() -> None:
    """SIGTERM and SIGHUP end relay the way Ctrl-C does (each request recorded, then exit 143 / 129).
    A signal the parent set to be ignored (``nohup``) stays ignored."""
    import signal

    for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if signum is not None and signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, _terminate)


def reader_left() -> None:
    """``relay log | head -1``: the reader of stdout went away, which ends relay quietly with 0."""
    from relaycli.output.sinks import silence

    silence(sys.__stdout__ or sys.stdout)
    sys.exit(int(ExitCode.OK))
