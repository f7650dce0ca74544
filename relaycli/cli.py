"""The root Typer app, and the one place where an exception becomes an exit code.

Only typer and the standard library are imported here: ``relay --help`` must stay fast, so every
command module keeps its heavy imports (httpx, sqlite3, rich) inside the command body.
"""

from __future__ import annotations

import importlib
import sys

import typer
from typer.core import TyperGroup

from relaycli import __version__
from relaycli.entry import RECEIVED, guarded, reader_left

# name -> (module in relaycli.commands, attribute, one-line help). Modules load only when their command
# runs, so `relay --help` builds no command but the root. tests/test_cli.py checks the help lines.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "stream": ("stream", "stream", "Stream one answer to stdout."),
    "chat": ("chat", "chat", "Chat in the terminal: streamed markdown answers, slash commands, history."),
    "models": ("models", "models", "List the models an endpoint offers, with aliases and prices."),
    "log": ("log", "log", "Show the latest requests from the usage ledger."),
    "cost": ("cost", "cost", "Report usage and cost from the ledger, by month, day, model or profile."),
    "bench": ("bench", "bench", "Benchmark the latency of profiles or models side by side."),
    "ping": ("ping", "ping", "Check that profiles answer and accept their keys, with timings."),
    "config": ("config", "app", "Create, inspect and change the config file."),
    "cache": ("cache", "app", "Inspect and clean the disk response cache."),
    "team": ("team", "app", "The shared team ledger on PostgreSQL: init, push, status."),
    "batch": ("batch", "batch", "Send many prompts, one JSON line out per input line."),
    "serve": ("serve", "serve", "Run relay as a local OpenAI- and Anthropic-compatible gateway."),
    "mock-server": ("mock", "mock_server", "Run the built-in local relay until Ctrl-C."),
    "demo": ("demo", "demo", "A guided offline tour on the built-in local relay."),
}


class LazyGroup(TyperGroup):
    """A root group that imports a command's module only when that command is used."""

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return list(COMMANDS)

    def get_command(self, ctx: typer.Context, cmd_name: str):  # type: ignore[no-untyped-def,override]
        if cmd_name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[cmd_name]
        target = getattr(importlib.import_module(f"relaycli.commands.{module}"), attribute)
        if not isinstance(target, typer.Typer):
            single = typer.Typer(rich_markup_mode=None, add_completion=False)
            single.command(cmd_name)(target)
            target = single
        command = typer.main.get_command(target)
        command.name = cmd_name
        return command

    def format_commands(self, ctx: typer.Context, formatter) -> None:  # type: ignore[no-untyped-def,override]
        with formatter.section("Commands"):
            formatter.write_dl([(name, line) for name, (_, _, line) in COMMANDS.items()])


app = typer.Typer(
    name="relay",
    cls=LazyGroup,
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


class _Options:
    """What the root options decided, for the error boundary below."""

    debug = False


OPTIONS = _Options()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_version, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors (anywhere on the command line)."),
) -> None:
    """A client for AI API relays: stream answers, list models, track usage and cost."""
    OPTIONS.debug = debug


def hoist_root_options(argv: list[str]) -> list[str]:
    """Move ``--debug`` given after the command name (``relay stream --debug hi``) in front of it, where the
    root option parses it. Arguments after ``--`` are left alone."""
    end = argv.index("--") if "--" in argv else len(argv)
    hoisted = [arg for arg in argv[:end] if arg == "--debug"]
    if not hoisted or argv[:1] == ["--debug"]:
        return argv
    return ["--debug", *(arg for arg in argv[:end] if arg != "--debug"), *argv[end:]]


def run(argv: list[str] | None = None) -> None:
    args = hoist_root_options(sys.argv[1:] if argv is None else list(argv))
    OPTIONS.debug = False

    def parse_and_run() -> None:
        try:
            app(args=args, prog_name="relay")
        except SystemExit as done:  # click turns a KeyboardInterrupt into exit 130; a command may end on its own
            if RECEIVED:
                sys.exit(128 + RECEIVED[0])
            if done.code == 1 and type(sys.stdout).__name__ == "PacifyFlushWrapper":
                reader_left()  # click's way of saying stdout's reader went away (EPIPE): a normal end
            raise

    guarded(parse_and_run, debug=lambda: OPTIONS.debug)
