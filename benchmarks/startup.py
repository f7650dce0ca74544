"""Start-up time of `relay`: median wall time of whole processes, next to `python -c pass`.

    python benchmarks/startup.py [--runs 30]

Measures `relay --version`, `relay --help`, a bare Typer app with one command (`--help`), and a
`relay stream --no-cache` against the built-in local relay (ledger write included; without
``--no-cache`` every run after the first would be answered from the response cache, which
``benchmarks/cache.py`` measures). Prints a Markdown table.

Every process runs with bytecode caching on, in a private cache directory (``PYTHONPYCACHEPREFIX``) that
the unmeasured first run of each command fills, so the figures are those of an installed relay whatever
``PYTHONDONTWRITEBYTECODE`` says; the checkout gets no ``__pycache__``. ``benchmarks/cache.py`` imports
the helpers below.
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


def relay_command() -> list[str]:
    """The installed ``relay`` script beside this interpreter, else ``python -m relaycli``."""
    relay = BIN / "relay"
    return [str(relay)] if relay.exists() else [sys.executable, "-m", "relaycli"]


def timing_env(home: str, pycache: str, **extra: str) -> dict[str, str]:
    """The environment of a measured process: no inherited RELAY_ settings, ``RELAY_HOME=home``, ``extra``,
    and bytecode cached under ``pycache`` (never in the checkout)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(RELAY_HOME=home, PYTHONPYCACHEPREFIX=pycache, **extra)
    return env


def run_ms(argv: list[str], env: dict[str, str]) -> float:
    """Wall time of one whole process, in ms; a failing command ends the benchmark."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()[-400:]}")
    return elapsed


def median_ms(argv: list[str], runs: int, env: dict[str, str]) -> float:
    run_ms(argv, env)  # warm the file cache and the bytecode cache
    return statistics.median(run_ms(argv, env) for _ in range(runs))


def interleaved_ms(
    commands: dict[str, list[str]], runs: int, env: dict[str, str], envs: dict[str, dict[str, str]] | None = None
) -> dict[str, list[float]]:
    """Wall times of ``runs`` rounds, each running every command once, the order rotated every round (ABC,
    BCA, CAB, ...), so a slower or faster spell of the machine falls on all of them alike. A command runs
    with ``envs[name]`` when given, else ``env``."""
    env_of = {name: (envs or {}).get(name, env) for name in commands}
    for name, argv in commands.items():
        run_ms(argv, env_of[name])  # warm
    names = list(commands)
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(runs):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(run_ms(commands[name], env_of[name]))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from relaycli.mock.server import MockServer

    relay_cmd = relay_command()
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as pycache, MockServer(port=0) as server:
        env = timing_env(home, pycache, RELAY_MOCK_URL=server.url)
        bare = Path(home) / "bare_typer.py"
        bare.write_text(BARE_TYPER)
        rows = [
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ("relay --version", [*relay_cmd, "--version"]),
            ("bare Typer app --help", [sys.executable, str(bare), "--help"]),
            ("relay --help", [*relay_cmd, "--help"]),
            ("relay stream -p mock --no-cache hi", [*relay_cmd, "stream", "-p", "mock", "--no-cache", "hi"]),
        ]
        times = interleaved_ms(dict(rows), args.runs, env)  # a slow spell of the machine falls on all alike
        results = {name: statistics.median(values) for name, values in times.items()}
    base, bare_help = results["python -c pass"], results["bare Typer app --help"]
    print(f"Start-up, median of {args.runs} interleaved runs ({platform.python_version()}, {os.cpu_count()} cores):\n")
    print("| command | median ms | vs python -c pass | vs bare Typer --help |")
    print("|---|---:|---:|---:|")
    for name, value in results.items():
        print(f"| `{name}` | {value:.1f} | {value / base:.2f}x | {value / bare_help:.2f}x |")


if __name__ == "__main__":
    main()
