#!/usr/bin/env bash
# Long-running checks, excluded from the default suite (pyproject.toml: addopts = -m 'not slow'):
#
#   tests/bench/test_accuracy.py::test_percentiles_match_the_servers_log[c1-long]
#       relay bench vs the local relay's own log (separate process): n = 1000 at concurrency 1
#   tests/bench/test_accuracy.py::test_percentiles_match_the_servers_log[c16-long]
#       n = 3000 at concurrency 16, 60-token answers with exponential gaps between tokens
#   tests/bench/test_accuracy.py::test_percentiles_match_the_servers_log[c1]
#       n = 150 at concurrency 1 (the default suite keeps c16, the same comparison at concurrency 16)
#
# Usage: benchmarks/run_slow.sh [pytest args]   (PYTHON=... to pick the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" -m pytest -p no:cacheprovider -n 0 -m slow "$@" tests  # one worker: timing checks alone
