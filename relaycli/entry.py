"""Console-script entry point. Answers ``--version`` before importing anything heavy."""

from __future__ import annotations

import sys


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
    from relaycli.cli import run

    run()
