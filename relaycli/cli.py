"""The root Typer app, and the one place where an exception becomes an exit code.

Only typer and the standard library are imported here: ``relay --help`` must stay fast, so every
command module keeps its heavy imports (httpx, sqlite3, rich) inside the command body.
"""

from __future__ import annotations

import sys

import typer

from . import __version__
from .commands import config as config_cmd
from .commands import demo, log, mock, models, stream
from .errors import RelayError
from .exit_codes import ExitCode

app = typer.Typer(
    name="relay",
    help="A client for AI API relays: stream answers, list models, track usage and cost.",
    rich_markup_mode=None,
    add_completion=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"relay {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                 help="Print the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and HTTP details on errors."),
) -> None:
    """A client for AI API relays: stream answers, list models, track usage and cost."""


app.command("stream")(stream.stream)
app.command("models")(models.models)
app.command("log")(log.log)
app.add_typer(config_cmd.app, name="config")
app.command("mock-server")(mock.mock_server)
app.command("demo")(demo.demo)


def report(exc: RelayError) -> None:
    lines = [f"relay: error: {exc.message}"]
    if exc.hint:
        lines.append(f"relay: hint: {exc.hint}")
    sys.stderr.write("\n".join(lines) + "\n")


def run(argv: list[str] | None = None) -> None:
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        app(args=argv, prog_name="relay")
    except RelayError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        report(exc)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        sys.exit(int(ExitCode.INTERRUPTED))
    except Exception as exc:  # a bug: say so in one line unless --debug
        if debug:
            raise
        sys.stderr.write(f"relay: internal error: {type(exc).__name__}: {exc} (rerun with --debug)\n")
        sys.exit(int(ExitCode.ERROR))
