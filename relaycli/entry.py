"""Console-script entry point. Answers ``--version`` before importing anything heavy."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from relaycli import __version__

        sys.stdout.write(f"relay {__version__}\n")
        return
    from relaycli.cli import run

    run()
