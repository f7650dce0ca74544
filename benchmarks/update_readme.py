"""Run the benchmark scripts and put their output, verbatim, between the markers in README.md.

    python benchmarks/update_readme.py [BLOCK ...]     # e.g. startup cache; none: every block

The README quotes only what these scripts print; rerun this after a change that could move a figure.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = {
    "startup": ["startup.py", "--runs", "30"],
    "overhead": ["overhead.py", "--no-breakdown"],
    "cache": ["cache.py"],
    "batch": ["batch.py"],
    "limits": ["limits.py"],
    "serve": ["serve_overhead.py"],
    "servers": ["serve_servers.py"],
    "team": ["team.py"],
}


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    chosen = sys.argv[1:] or list(SCRIPTS)
    unknown = sorted(set(chosen) - set(SCRIPTS))
    if unknown:
        sys.exit(f"unknown block {unknown[0]!r}; blocks: {', '.join(SCRIPTS)}")
    for marker, argv in SCRIPTS.items():
        if marker not in chosen:
            continue
        command = f"python benchmarks/{' '.join(argv)}"
        done = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / argv[0]), *argv[1:]], capture_output=True, text=True, check=True
        )
        block = f"<!-- {marker} -->\n`{command}`:\n\n{done.stdout.strip()}\n<!-- /{marker} -->"
        start, end = f"<!-- {marker} -->", f"<!-- /{marker} -->"
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
        print(done.stdout)
    readme.write_text(text)


if __name__ == "__main__":
    main()
