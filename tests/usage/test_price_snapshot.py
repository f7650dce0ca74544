"""The built-in price table: generated, dated, broad, loaded lazily and fast."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from relaycli.usage import prices as pricing
from relaycli.usage.prices import SNAPSHOT_PATH, PriceTable

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return json.loads(SNAPSHOT_PATH.read_text(encoding="utf-8"))


def test_header_says_where_and_when(doc: dict[str, Any]) -> None:
    assert doc["source"] == "genai-prices"
    assert isinstance(doc["source_version"], str) and doc["source_version"]
    date.fromisoformat(str(doc["generated"]))
    assert doc["columns"][:4] == ["provider", "id", "input", "output"]
    assert "tiers" in doc["notes"]


def test_covers_the_major_providers(doc: dict[str, Any]) -> None:
    rows = doc["models"]
    counts = Counter(row[0] for row in rows)
    for provider, at_least in {
        "openai": 50,
        "anthropic": 15,
        "google": 30,
        "deepseek": 3,
        "mistral": 20,
        "x-ai": 10,
        "moonshotai": 5,
        "groq": 10,
        "together": 20,
        "openrouter": 500,
    }.items():
        assert counts[provider] >= at_least, provider
    ids = {row[1].lower() for row in rows}
    assert any(i.startswith("qwen/") for i in ids)  # Qwen / Alibaba, through OpenRouter
    assert any("llama" in i for i in ids)  # Meta


def test_rows_are_well_formed_and_in_a_stable_order(doc: dict[str, Any]) -> None:
    providers = doc["providers"]
    rows = doc["models"]
    assert rows == sorted(rows, key=lambda r: (providers.index(r[0]), r[1]))
    for _provider, model, inp, out, cached, write, window, aliases, prefixes, _note, scheduled in rows:
        for value in (inp, out, cached, write):
            assert value is None or Decimal(value) >= 0, model
        assert window is None or window > 0
        assert all(a == a.lower() for a in aliases + prefixes)
        for start, *values in scheduled or ():
            date.fromisoformat(start)
            assert len(values) == 4


def test_loads_in_a_few_milliseconds() -> None:
    durations = []
    for _ in range(5):
        started = time.perf_counter()
        pricing._load_snapshot(SNAPSHOT_PATH)
        durations.append(time.perf_counter() - started)
    assert statistics.median(durations) < 0.05  # measured around 3 ms


def test_snapshot_is_read_only_when_a_price_is_needed(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from relaycli.usage import prices as pricing\n"
        "t = pricing.PriceTable.load({'mine': {'input': 1, 'output': 2}})\n"
        "assert t.lookup('mine').input == 1\n"
        "assert pricing._SNAPSHOT is None, 'loaded too early'\n"
        "assert t.lookup('gpt-4.1') is not None and pricing._SNAPSHOT is not None\n"
        "heavy = {'genai_prices', 'pydantic', 'sqlite3', 'httpx', 'rich'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_a_damaged_snapshot_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "prices.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(pricing.RelayError) as caught:
        PriceTable.load(path=broken).lookup("gpt-4.1")
    assert str(broken) in str(caught.value)


def test_snapshot_is_exactly_what_the_refresh_script_writes(doc: dict[str, Any], tmp_path: Path) -> None:
    genai_prices = pytest.importorskip("genai_prices")
    if genai_prices.__version__ != doc["source_version"]:
        pytest.skip(f"genai-prices {genai_prices.__version__} installed, snapshot from {doc['source_version']}")
    out = tmp_path / "prices.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "refresh_prices.py"),
            "--output",
            str(out),
            "--date",
            str(doc["generated"]),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == SNAPSHOT_PATH.read_bytes()


def test_a_name_the_table_lists_is_priced_from_its_line_alone() -> None:
    table = PriceTable.load()
    snapshot = pricing._load_snapshot(SNAPSHOT_PATH)
    table._snapshot = snapshot
    assert table.lookup("gpt-4.1-mini") is not None
    assert table.lookup("GPT-4.1-MINI") is not None
    assert snapshot._rows is None, "the whole table was parsed for a name it lists"
    assert table.lookup("gpt-4.1-mini-20250414") is not None  # listed only with a dashed date: all rows
    assert snapshot._rows is not None


def test_the_line_of_a_name_is_the_row_the_indexes_find(doc: dict[str, Any], tmp_path: Path) -> None:
    """The file as the refresh script lays it out (a row found by its line) and the same table on one line
    (read whole, a row found through the indexes) agree on every id and alias, and on names not listed."""
    one_line = tmp_path / "prices.json"
    one_line.write_text(json.dumps(doc), encoding="utf-8")
    by_line, whole = pricing._load_snapshot(SNAPSHOT_PATH), pricing._load_snapshot(one_line)
    names = {row[1].lower() for row in doc["models"]} | {alias for row in doc["models"] for alias in row[7]}
    names |= {"openai", "no-such-model", "gpt-4.1-mini-20250414", '"', "a\\b", "1000000", "null"}
    for name in sorted(names):
        index = whole.exact.get(name)
        assert by_line.first_exact(name) == (None if index is None else whole.rows[index]), name
    assert by_line._rows is None  # no name needed the whole table


def test_prices_found_by_line_are_those_found_by_the_indexes(doc: dict[str, Any], tmp_path: Path) -> None:
    one_line = tmp_path / "prices.json"
    one_line.write_text(json.dumps(doc), encoding="utf-8")
    today = date(2026, 11, 23)
    for name in ["gpt-4.1-mini", "GPT-4.1", "claude-sonnet-4-5", "openai/gpt-4o-2024-08-06:beta", "x:free"]:
        by_line = PriceTable.load(today=today)
        by_line._snapshot = pricing._load_snapshot(SNAPSHOT_PATH)
        assert by_line.lookup(name) == PriceTable.load(today=today, path=one_line).lookup(name), name


def test_a_damaged_row_line_is_a_clear_error(tmp_path: Path) -> None:
    text = SNAPSHOT_PATH.read_text(encoding="utf-8")
    broken = tmp_path / "prices.json"
    broken.write_text(text.replace('["openai","gpt-4.1-mini",', '["openai","gpt-4.1-mini" ', 1), encoding="utf-8")
    with pytest.raises(pricing.RelayError) as caught:
        PriceTable.load(path=broken).lookup("gpt-4.1-mini")
    assert str(broken) in str(caught.value)
