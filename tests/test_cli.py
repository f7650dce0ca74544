"""The CLI surface: lazily loaded commands, their help lines, completions kept current."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from relaycli.cli import COMMANDS, app

ROOT = Path(__file__).resolve().parent.parent


def test_every_command_loads_and_its_help_line_matches_its_docstring() -> None:
    group = typer.main.get_command(app)
    ctx = typer.Context(group)  # type: ignore[arg-type]
    for name, (_, _, line) in COMMANDS.items():
        command = group.get_command(ctx, name)  # type: ignore[attr-defined]
        assert command is not None and command.name == name
        first = (command.help or "").strip().split("\n")[0]
        assert first == line, (name, first, line)


def test_completions_are_current() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_completions.py"), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_bash_completion_offers_subcommands_and_options() -> None:
    script = ROOT / "completions" / "relay.bash"
    probe = f"""
source {script}
COMP_WORDS=(relay con); COMP_CWORD=1; _relay; echo "${{COMPREPLY[*]}}"
COMP_WORDS=(relay stream --max); COMP_CWORD=2; _relay; echo "${{COMPREPLY[*]}}"
COMP_WORDS=(relay config s); COMP_CWORD=2; _relay; echo "${{COMPREPLY[*]}}"
"""
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True)
    assert done.stdout.splitlines() == ["config", "--max-tokens", "show set"]


def test_debug_is_honoured_after_the_command_name() -> None:
    from relaycli.cli import hoist_root_options

    assert hoist_root_options(["stream", "--debug", "-p", "x", "hi"]) == ["--debug", "stream", "-p", "x", "hi"]
    assert hoist_root_options(["--debug", "stream", "hi"]) == ["--debug", "stream", "hi"]
    assert hoist_root_options(["stream", "--", "--debug"]) == ["stream", "--", "--debug"]  # a prompt, not a flag
    assert hoist_root_options(["stream", "hi"]) == ["stream", "hi"]


def test_debug_after_the_command_shows_the_traceback(isolated: object) -> None:
    from tests.conftest import run_relay

    plain = run_relay("stream", "-p", "nosuch", "hi")
    debug = run_relay("stream", "-p", "nosuch", "--debug", "hi")
    assert plain.code == debug.code == 3
    assert "Traceback" not in plain.err and "Traceback (most recent call last)" in debug.err
    assert "unknown profile 'nosuch'" in debug.err
