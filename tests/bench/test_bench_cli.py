"""The real `relay bench` in a subprocess against the local relay: JSON, CSV and table shapes, several
targets, errors by class and exit codes, the ledger, saved runs and --compare."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from relaycli.bench.formulas import FORMULAS
from relaycli.ledger import Ledger
from tests.conftest import run_relay
from tests.integration.support import write_config

STATS = {"n", "mean", "min", "p50", "p90", "p95", "p99", "max"}


def bench(env: dict[str, str], *args: str, code: int = 0) -> str:
    ran = run_relay("bench", *args, env=env)
    assert ran.code == code, ran.err
    return ran.out


def test_json_has_the_contract_shape(relay_env: dict[str, str]) -> None:
    doc = json.loads(bench(relay_env, "-p", "mock", "-n", "6", "--json"))
    assert set(doc) >= {"config", "targets", "comparisons"} and doc["comparisons"] == []
    assert doc["config"]["metrics"] == FORMULAS and doc["config"]["mode"] == "closed"
    (target,) = doc["targets"]
    assert set(target) >= {
        "profile",
        "model",
        "requests",
        "ok",
        "errors",
        "ttft_ms",
        "latency_ms",
        "tpot_ms",
        "output_tokens_per_s",
        "cost_usd",
    }
    for key in ("ttft_ms", "latency_ms", "tpot_ms", "output_tokens_per_s", "ttfb_ms", "chunk_gap_ms"):
        assert set(target[key]) >= STATS, key
    assert (target["profile"], target["model"], target["requests"], target["ok"], target["errors"]) == (
        "mock",
        "gpt-4.1-mini",
        6,
        6,
        {},
    )
    assert target["ttft_ms"]["n"] == 6 and target["ttft_ms"]["p99_reliable"] is False
    assert target["ttfb_ms"]["p50"] <= target["ttft_ms"]["p50"] <= target["latency_ms"]["p50"]
    assert (
        Decimal(target["cost_usd"]) > 0 and target["output_tokens"] == 6 * 40 and not target["output_tokens_estimated"]
    )
    assert "records" not in doc


def test_two_models_interleaved_with_raw_records_and_comparisons(relay_env: dict[str, str]) -> None:
    doc = json.loads(
        bench(
            relay_env,
            "-p",
            "mock",
            "-m",
            "gpt-4.1",
            "-m",
            "gpt-4.1-mini",
            "-n",
            "8",
            "--warmup",
            "2",
            "--json",
            "--raw",
            "--seed",
            "3",
        )
    )
    assert [t["label"] for t in doc["targets"]] == ["gpt-4.1", "gpt-4.1-mini"]
    records = doc["records"]
    assert len(records) == 2 * (8 + 2) and sum(r["warmup"] for r in records) == 4
    measured = [r for r in records if not r["warmup"]]
    assert all(a["t_send_ms"] <= b["t_send_ms"] for a, b in pairwise(records))
    for i in range(0, 16, 2):  # one request per target per round, same prompt (seq)
        assert {r["target"] for r in measured[i : i + 2]} == {"gpt-4.1", "gpt-4.1-mini"}
        assert measured[i]["seq"] == measured[i + 1]["seq"]
    assert all(r["request_id"].startswith("req_") and r["output_tokens"] == 40 for r in measured)
    comparisons = doc["comparisons"]
    assert {(c["metric"], c["quantile"]) for c in comparisons} >= {("ttft_ms", "p50"), ("latency_ms", "p99")}
    first = comparisons[0]
    assert first["baseline"] == "gpt-4.1" and first["target"] == "gpt-4.1-mini"
    assert set(first) >= {"difference", "ci95", "significant", "improvement_pct", "verdict"}
    assert first["ci95"][0] <= first["ci95"][1]


def test_both_protocols_with_explicit_targets_and_a_baseline(relay_env: dict[str, str]) -> None:
    doc = json.loads(
        bench(
            relay_env,
            "-T",
            "mock:gpt-4.1",
            "-T",
            "mock-anthropic:claude-haiku-4-5",
            "-n",
            "4",
            "--baseline",
            "mock-anthropic",
            "--json",
        )
    )
    assert [t["label"] for t in doc["targets"]] == ["mock", "mock-anthropic"]
    assert all(t["ok"] == 4 and t["output_tokens"] == 4 * 40 for t in doc["targets"])
    assert doc["comparisons"][0]["baseline"] == "mock-anthropic"


def test_table_histogram_and_csv(relay_env: dict[str, str]) -> None:
    out = bench(relay_env, "-p", "mock", "-m", "gpt-4.1", "-m", "gpt-4.1-mini", "-n", "5", "--histogram")
    assert out.startswith("relay bench: 2 target(s), closed loop, 1 in flight; 5 requests per target")
    assert "TTFT (ms)" in out and "gpt-4.1-mini vs gpt-4.1" in out and "difference [95% CI]" in out
    assert "ms | #" in out and "* unreliable: p95 needs n >= 72, p99 needs n >= 367" in out
    assert any(line.startswith("- ") and "TTFT p50" in line for line in out.splitlines())  # the verdicts
    rows = list(csv.DictReader(io.StringIO(bench(relay_env, "-p", "mock", "-n", "3", "--csv"))))
    assert {r["metric"] for r in rows} >= {"ttft_ms", "latency_ms", "tpot_ms"} and rows[0]["n"] == "3"
    raw = list(csv.DictReader(io.StringIO(bench(relay_env, "-p", "mock", "-n", "3", "--csv", "--raw"))))
    assert len(raw) == 4 and {"ttft_ms", "latency_ms", "request_id", "warmup"} <= set(raw[0])


def test_every_request_is_in_the_ledger_tagged_bench(relay_env: dict[str, str], isolated: Path) -> None:
    bench(relay_env, "-p", "mock", "-n", "5", "--warmup", "2", "--json")
    with Ledger.open(isolated / "ledger.db") as ledger:
        rows = ledger.recent(100)
    assert len(rows) == 7 and {(r.command, r.tag, r.outcome) for r in rows} == {("bench", "bench", "ok")}
    assert all(r.ttft_ms and r.latency_ms and r.completion_tokens == 40 and r.cost_usd for r in rows)


def test_errors_are_counted_by_class_and_set_the_exit_code(relay_env: dict[str, str]) -> None:
    write_config(
        relay_env,
        f"""
[profiles.broken]
base_url = "{relay_env["RELAY_MOCK_URL"]}/v1"
default_model = "gpt-4.1"
headers = {{ "X-Mock" = "fail=503" }}

[profiles.closed]
base_url = "http://127.0.0.1:1/v1"
default_model = "gpt-4.1"

[profiles.nowhere]
base_url = "http://nonexistent.invalid/v1"
default_model = "gpt-4.1"
""",
    )
    doc = json.loads(bench(relay_env, "-p", "broken", "-p", "mock", "-n", "4", "--json", code=5))
    broken, fine = doc["targets"]
    assert broken["errors"] == {"http_503": 4} and broken["ok"] == 0 and broken["ttft_ms"]["n"] == 0
    assert fine["ok"] == 4 and doc["comparisons"] == []
    closed = run_relay("bench", "-p", "closed", "-n", "2", "--json", env=relay_env)
    assert closed.code == 7 and json.loads(closed.out)["targets"][0]["errors"] == {"network": 2}
    nowhere = run_relay("bench", "-p", "nowhere", "-n", "2", env=relay_env)
    assert nowhere.code == 7 and "cannot resolve host nonexistent.invalid" in nowhere.err
    assert len(nowhere.err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--json", "--csv"], "exclude each other"),
        (["--baseline", "other"], "not one of the targets"),
        (["-T", "nocolon"], "PROFILE:MODEL"),
        (["-p", "nope"], "unknown profile"),
    ],
)
def test_usage_errors(relay_env: dict[str, str], args: list[str], message: str) -> None:
    ran = (
        run_relay("bench", "-p", "mock", "-n", "1", *args, env=relay_env)
        if args[0] != "-p"
        else run_relay("bench", *args, env=relay_env)
    )
    assert ran.code in (2, 3) and message in ran.err


def test_saved_runs_compare_with_and_without_confidence_intervals(relay_env: dict[str, str], tmp_path: Path) -> None:
    old, new, bare = tmp_path / "old.json", tmp_path / "new.json", tmp_path / "bare.json"
    bench(relay_env, "-p", "mock", "-n", "6", "--save", str(old))
    bench(relay_env, "-p", "mock", "-n", "6", "--save", str(new))
    bare.write_text(bench(relay_env, "-p", "mock", "-n", "6", "--json"))
    doc = json.loads(bench(relay_env, "--compare", str(old), str(new), "--json"))
    assert doc["targets"] == ["mock"] and doc["comparisons"]
    assert all(c["ci95"] is not None and c["target"] == "mock (new.json)" for c in doc["comparisons"])
    plain = json.loads(bench(relay_env, "--compare", str(old), str(bare), "--json"))
    assert all(c["ci95"] is None and "no confidence interval" in c["verdict"] for c in plain["comparisons"])
    table = bench(relay_env, "--compare", str(old), str(new))
    assert "mock (new.json) vs mock (old.json)" in table
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    ran = run_relay("bench", "--compare", str(old), str(bad), env=relay_env)
    assert ran.code == 2 and "not a saved `relay bench --json` run" in ran.err


def test_help_prints_every_formula(relay_env: dict[str, str]) -> None:
    ran = run_relay("bench", "--help", env={**relay_env, "COLUMNS": "200"})
    assert ran.code == 0
    for formula in FORMULAS.values():
        assert formula in ran.out, formula
