"""House habits, checked with the suite: one formatter decides layout, the linter is clean, and mypy passes
(strict on the pipeline, the client core and the ledger, as configured in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREES = ["relaycli", "tests", "benchmarks", "scripts"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=ROOT, capture_output=True, text=True, timeout=300)


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert found, f"{name} is part of the test dependencies: pip install -e '.[test]'"
    return found


def test_ruff_check_is_clean() -> None:
    done = run(tool("ruff"), "check", *TREES)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_decides_the_layout() -> None:
    done = run(tool("ruff"), "format", "--check", *TREES)
    assert done.returncode == 0, "run `ruff format`:\n" + done.stdout + done.stderr


def test_mypy_is_clean() -> None:
    done = run(sys.executable, "-m", "mypy")
    assert done.returncode == 0, done.stdout + done.stderr
