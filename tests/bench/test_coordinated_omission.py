"""Open loop against a server that freezes for 1 s once: requests scheduled during the freeze had to wait
in the client's queue (``-c 2`` caps what is in flight), so their send time, and with it the uncorrected
latency, hides the freeze; the corrected latency (t_end - t_sched) shows it."""

from __future__ import annotations

from pathlib import Path

from .support import bench, mock_process, write_profiles


def test_corrected_latency_shows_the_stall(tmp_path: Path) -> None:
    with mock_process("words=3 pause_after=30 pause=1.0", tmp_path / "log.jsonl") as url:
        write_profiles(tmp_path / "home", {"stalls": url})
        ran, doc = bench(tmp_path / "home", "-p", "stalls", "--rate", "50", "-c", "2", "-n", "120", "--seed", "1")
    records = [r for r in doc["records"] if not r["warmup"]]
    assert len(records) == 120 and all(r["ok"] for r in records)
    frozen = max(records, key=lambda r: r["latency_ms"])  # in flight when the server froze
    assert frozen["latency_ms"] >= 900
    start, end = frozen["t_send_ms"], frozen["t_send_ms"] + frozen["latency_ms"]
    during = [r for r in records if start + 20 < r["t_sched_ms"] < end - 20]
    assert len(during) >= 25
    for r in during:  # nothing scheduled in the freeze could finish before it ended
        assert r["corrected_latency_ms"] >= end - r["t_sched_ms"] - 5
        assert r["corrected_latency_ms"] >= r["latency_ms"]
    hidden = [r for r in during if r["latency_ms"] < 50]  # queued, then sent after the freeze: looks fast
    assert len(hidden) >= len(during) - 2
    target = doc["targets"][0]
    assert target["corrected_latency_ms"]["p99"] >= 500 and target["corrected_latency_ms"]["p90"] >= 200
    assert target["latency_ms"]["p90"] < 50
    assert target["schedule_lag_ms"]["max"] >= 800
    assert doc["self_check"]["queued"] >= len(hidden)
    assert "waited for a free slot (-c 2)" in ran.err
