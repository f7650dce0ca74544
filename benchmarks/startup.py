"""Start-up time of `relay`: median wall time of whole processes, next to `python -c pass`.

    python benchmarks/startup.py [--runs 30]

Measures `relay --version`, `relay --help`, a bare Typer app with one command (`--help`), and a
`relay stream` against the built-in local relay (ledger write included). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BARE_TYPER = """
import typer
app = typer.Typer(rich_markup_mode=None, add_completion=False)
@app.command()
def hello(name: str = "world") -> None:
    print(name)
app()
"""


def median_ms(argv: list[str], runs: int, env: dict[str, str]) -> float:
    subprocess.run(argv, env=env, capture_output=True, check=False)  # warm the file cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, check=False)
        times.append((time.perf_counter() - start) * 1000)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()[-400:]}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from relaycli.mock.server import MockServer

    relay = str(BIN / "relay") if (BIN / "relay").exists() else None
    relay_cmd = [relay] if relay else [sys.executable, "-m", "relaycli"]
    with tempfile.TemporaryDirectory() as home, MockServer(port=0) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
        env.update(RELAY_HOME=home, RELAY_MOCK_URL=server.url)
        bare = Path(home) / "bare_typer.py"
        bare.write_text(BARE_TYPER)
        rows = [
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ("relay --version", [*relay_cmd, "--version"]),
            ("bare Typer app --help", [sys.executable, str(bare), "--help"]),
            ("relay --help", [*relay_cmd, "--help"]),
            ("relay stream -p mock hi", [*relay_cmd, "stream", "-p", "mock", "hi"]),
        ]
        results = {name: median_ms(argv, args.runs, env) for name, argv in rows}
    base, bare_help = results["python -c pass"], results["bare Typer app --help"]
    print(f"Start-up, median of {args.runs} runs ({platform.python_version()}, {os.cpu_count()} cores):\n")
    print("| command | median ms | vs python -c pass | vs bare Typer --help |")
    print("|---|---:|---:|---:|")
    for name, value in results.items():
        print(f"| `{name}` | {value:.1f} | {value / base:.2f}x | {value / bare_help:.2f}x |")


if __name__ == "__main__":
    main()
