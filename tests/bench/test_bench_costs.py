"""`relay bench` cost figures when some requests have no price or fail, and empty answers (HTTP 200, no
content, 0 output tokens) as their own error class."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from relaycli.ledger import Ledger
from tests.conftest import run_relay

PROMPTS = (
    "--prompt",
    "hello",
    "--prompt",
    "[[mock: stop_after=3]] cut",
    "--prompt",
    "[[mock: fail=503]] no",
    "--prompt",
    "[[mock: words=0]] empty",
)


def test_priced_requests_are_summed_and_the_rest_counted(relay_env: dict[str, str], isolated: Path) -> None:
    ran = run_relay("bench", "-p", "mock", "-n", "8", "--warmup", "0", *PROMPTS, "--json", env=relay_env)
    assert ran.code == 0, ran.err
    (target,) = json.loads(ran.out)["targets"]
    assert target["errors"] == {"empty": 2, "http_503": 2, "truncated": 2} and target["ok"] == 2
    with Ledger.open(isolated / "ledger.db") as ledger:
        rows = ledger.recent(100)
    priced = [r.cost_usd for r in rows if r.cost_usd is not None]
    assert len(priced) == 4  # the answers and the empty ones; a 503 costs nothing, a cut stream is unknown
    total = sum(priced, Decimal(0))
    assert target["unpriced_requests"] == 2 and target["priced_requests"] == 4
    assert Decimal(target["cost_usd_total"]) == total  # exact decimal strings, as everywhere in JSON
    assert Decimal(target["cost_usd"]) == (total / 2).quantize(Decimal("1e-12"))
    table = run_relay("bench", "-p", "mock", "-n", "8", "--warmup", "0", *PROMPTS, env=relay_env)
    assert "per request" in table.out and "(2 unpriced)" in table.out


def test_an_unpriced_model_has_no_cost_and_says_how_many(relay_env: dict[str, str]) -> None:
    ran = run_relay("bench", "-p", "mock", "-m", "mock-unpriced", "-n", "3", "--json", env=relay_env)
    assert ran.code == 0, ran.err
    (target,) = json.loads(ran.out)["targets"]
    assert target["cost_usd"] is None and target["cost_usd_total"] is None and target["unpriced_requests"] == 3


def test_empty_answers_are_errors_of_their_own_class_with_a_warning(relay_env: dict[str, str], isolated: Path) -> None:
    ran = run_relay(
        "bench",
        "-p",
        "mock",
        "-m",
        "gpt-4.1",
        "-m",
        "gpt-4.1-mini",
        "-n",
        "6",
        "--json",
        "--raw",
        "--prompt",
        "[[mock: words=0]] nothing",
        env=relay_env,
    )
    assert ran.code == 5, ran.err  # no target got a real answer
    doc = json.loads(ran.out)
    for target in doc["targets"]:
        assert target["ok"] == 0 and target["errors"] == {"empty": 6} and target["empty"] == 6
        assert target["latency_ms"]["n"] == 0 and target["ttft_ms"]["n"] == 0
    assert doc["comparisons"] == []  # nothing to compare: empty answers are not in the percentiles
    assert "6 of 6 answers were empty" in ran.err and "relay: warning:" in ran.err
    assert all(r["error"] == "empty" and r["output_tokens"] == 0 for r in doc["records"] if not r["warmup"])
    with Ledger.open(isolated / "ledger.db") as ledger:
        rows = ledger.recent(100)
    assert {r.outcome for r in rows} == {"ok"} and all(r.completion_tokens == 0 for r in rows)


def test_some_empty_answers_leave_the_rest_measured(relay_env: dict[str, str]) -> None:
    ran = run_relay(
        "bench",
        "-p",
        "mock",
        "-n",
        "4",
        "--prompt",
        "fine",
        "--prompt",
        "[[mock: words=0]] gone",
        "--json",
        env=relay_env,
    )
    assert ran.code == 0, ran.err
    (target,) = json.loads(ran.out)["targets"]
    assert target["ok"] == 2 and target["errors"] == {"empty": 2} and target["latency_ms"]["n"] == 2
    assert "2 of 4 answers were empty" in ran.err


def test_money_is_exact_and_the_csv_has_no_float_noise(relay_env: dict[str, str]) -> None:
    ran = run_relay("bench", "-p", "mock", "-n", "3", "--warmup", "0", "--json", env=relay_env)
    (target,) = json.loads(ran.out)["targets"]
    for key in ("cost_usd", "cost_usd_total", "cost_per_1k_output_usd"):
        assert isinstance(target[key], str) and "e" not in target[key].lower(), (key, target[key])
    csv = run_relay("bench", "-p", "mock", "-n", "3", "--warmup", "0", "--csv", env=relay_env).out
    numbers = [cell for line in csv.splitlines()[1:] for cell in line.split(",")[4:12]]
    assert numbers and all(len(cell.partition(".")[2]) <= 4 for cell in numbers), csv


def test_a_target_with_no_successful_request_says_so_instead_of_unpriced(relay_env: dict[str, str]) -> None:
    ran = run_relay(
        "bench", "-p", "mock", "-n", "2", "--warmup", "0", "--prompt", "[[mock: fail=400]] no", env=relay_env
    )
    assert "(no successful request" in ran.out and "unpriced per request" not in ran.out, ran.out
