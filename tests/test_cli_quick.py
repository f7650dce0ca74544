"""``relay stream`` command lines read without typer (``commands/streaming.parse_quick``) mean exactly what
typer makes of them; anything the small parser is not sure of goes to typer."""

from __future__ import annotations

from typing import Any

import pytest

from relaycli.cli import app
from relaycli.commands import streaming
from relaycli.commands.streaming import parse_quick

READ = [
    [],
    ["hello"],
    ["hello", "world"],
    ["-p", "mock", "hi"],
    ["hi", "-p", "mock", "there"],
    ["--profile", "mock", "hi"],
    ["--profile=mock", "--model=fast", "hi"],
    ["-m", "fast", "-s", "be brief", "-t", "0.7", "--max-tokens", "10", "hi"],
    ["--temperature", "2", "--max-tokens", "1", "x"],
    ["-t", ".5", "x"],
    ["-t", "0", "x"],
    ["-t", "1.", "x"],
    ["-s", "", "x"],
    ["", "x"],
    ["--json", "-v", "x"],
    ["--verbose", "-v", "x"],
    ["--no-cache", "x"],
    ["--refresh", "x"],
    ["--cache-only", "--replay-timing", "x"],
    ["--system=--not-a-flag", "x"],
    ["x", "--json", "y"],
]

LEFT_TO_TYPER = [
    ["-o", "seed=1", "x"],
    ["--param", "seed=1", "x"],
    ["--help"],
    ["-h"],
    ["--", "-x"],
    ["-pmock", "x"],
    ["-p=mock", "x"],
    ["-p", "a", "-p", "b", "x"],
    ["-p"],
    ["-p", "-m", "x"],
    ["-s", "-x", "y"],
    ["-t", "3", "x"],
    ["-t", "nan", "x"],
    ["-t", "1e0", "x"],
    ["-t", "-1", "x"],
    ["-t", " 1", "x"],
    ["--max-tokens", "0", "x"],
    ["--max-tokens", "+5", "x"],
    ["--max-tokens", "05", "x"],
    ["--no-cache", "--refresh", "x"],
    ["--refresh", "--cache-only", "x"],
    ["-x"],
    ["-"],
    ["-vx"],
    ["--debug", "x"],
    ["--jsonx", "x"],
    ["--json=1", "x"],
]


def typer_reads(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def capture(ctx: object, **kwargs: Any) -> int:
        seen.update(kwargs)
        return 0

    monkeypatch.setattr(streaming, "run", capture)
    app(args=["stream", *argv], prog_name="relay", standalone_mode=False)
    return seen


@pytest.mark.parametrize("argv", READ, ids=lambda a: " ".join(a) or "(nothing)")
def test_a_line_read_quickly_means_what_typer_reads(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    quick = parse_quick(argv)
    assert quick is not None
    assert quick == typer_reads(argv, monkeypatch)


@pytest.mark.parametrize("argv", LEFT_TO_TYPER, ids=" ".join)
def test_anything_uncertain_is_left_to_typer(argv: list[str]) -> None:
    assert parse_quick(argv) is None
