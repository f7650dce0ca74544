"""The ordered writer, the resume file's reading and compaction, the tally's exit code, the progress line."""

from __future__ import annotations

import io
import json
import stat
from decimal import Decimal
from pathlib import Path

import pytest

from relaycli.batch.output import LineWriter, open_output
from relaycli.batch.resume import compact, succeeded
from relaycli.batch.tally import Done, Tally
from relaycli.errors import OutputClosed, OutputFailed
from relaycli.output.progress import Progress, ProgressBar, render


def line(item_id: str, ok: bool = True) -> str:
    error = None if ok else {"class": "EndpointError", "message": "HTTP 500", "exit_code": 5}
    return json.dumps({"id": item_id, "text": f"answer {item_id}", "error": error}) + "\n"


def test_lines_are_written_in_input_order_as_soon_as_they_may_be() -> None:
    out, freed = io.StringIO(), []
    writer = LineWriter(out, ordered=True, written=freed.append)
    writer.put(2, "c\n")
    writer.put(1, "b\n")
    assert out.getvalue() == "" and len(writer.pending) == 2
    writer.put(0, "a\n")
    assert out.getvalue() == "a\nb\nc\n" and freed == [3] and writer.pending == {}
    writer.put(1, "again\n")  # a line already written is never written twice
    writer.put(3, "d\n")
    assert out.getvalue() == "a\nb\nc\nd\n" and freed == [3, 1] and writer.count == 4


def test_unordered_lines_go_out_at_once() -> None:
    out, freed = io.StringIO(), []
    writer = LineWriter(out, ordered=False, written=freed.append)
    writer.put(5, "x\n")
    writer.put(0, "y\n")
    assert out.getvalue() == "x\ny\n" and freed == [1, 1]


class Broken(io.StringIO):
    def __init__(self, exc: OSError) -> None:
        super().__init__()
        self.exc = exc

    def write(self, text: str) -> int:
        raise self.exc


def test_a_reader_that_left_and_a_full_disk() -> None:
    with pytest.raises(OutputClosed):
        LineWriter(Broken(BrokenPipeError()), ordered=False).put(0, "x\n")
    with pytest.raises(OutputFailed, match="cannot write to out.jsonl: No space"):
        LineWriter(Broken(OSError(28, "No space left on device")), ordered=False, name="out.jsonl").put(0, "x\n")


def test_succeeded_reads_the_ids_without_an_error(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert succeeded(out) == set()  # not there yet: a first run
    out.write_text(line("a") + line("b", ok=False) + "not json\n" + '{"id": "c", "text": "cut sh')
    assert succeeded(out) == {"a"}


def test_compact_keeps_one_line_per_input_id_in_input_order(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text(line("b", ok=False) + line("a") + line("gone") + '{"id": "c"\n' + line("b") + line("c", ok=False))
    out.chmod(0o644)
    done = compact(out, ["a", "b", "c", "d"])
    assert done.lines == 3 and done.dropped == 1
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(r["id"], r["error"] is None) for r in rows] == [("a", True), ("b", True), ("c", False)]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]  # no temporary file left


def test_compact_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real.jsonl"
    real.write_text(line("b") + line("a"))
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    compact(link, ["a", "b"])
    assert link.is_symlink() and [json.loads(x)["id"] for x in real.read_text().splitlines()] == ["a", "b"]


def test_appending_after_a_line_cut_short_starts_a_new_line(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text(line("a") + '{"id": "b", "te')
    with open_output(out, append=True) as handle:
        handle.write(line("b"))
    assert out.read_text().splitlines()[1:] == ['{"id": "b", "te', line("b").strip()]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_the_exit_code_is_the_most_common_failure() -> None:
    tally = Tally()
    assert tally.exit_code() == 0
    for code, name in [(5, "EndpointError"), (8, "RateLimited"), (8, "RateLimited"), (5, "EndpointError")]:
        tally.add(Done(0, "", error_class=name, exit_code=code))
    assert tally.exit_code() == 5  # a tie: the first seen
    tally.add(Done(0, "", error_class="RateLimited", exit_code=8))
    tally.add(Done(0, "", cached=True, prompt_tokens=3, completion_tokens=4, cost_usd=Decimal(0), billed=Decimal(0)))
    assert tally.exit_code() == 8 and tally.done == 6 and tally.errors == 5 and tally.tokens == 7
    summary = tally.summary(1.25, skipped=2, unsent=3)
    assert summary.startswith("batch: 6 lines in 1.2 s: 1 ok (1 cached), 5 failed (RateLimited 3, EndpointError 2)")
    assert "2 done before (skipped), 3 not sent; 3 in / 4 out tokens; $0.00" in summary


def test_costs_are_summed_per_billing_currency() -> None:
    tally = Tally()
    tally.add(Done(0, "", cost_usd=Decimal("0.01"), billed=Decimal("0.073"), currency="CNY"))
    tally.add(Done(1, "", cost_usd=Decimal("0.02"), billed=Decimal("0.02"), currency="USD"))
    tally.add(Done(2, "", priced=False))
    assert tally.cost() == "¥0.0730 + $0.0200"
    assert tally.summary(1).endswith("¥0.0730 + $0.0200 ($0.0300 list price), 1 unpriced")


def test_the_progress_line() -> None:
    p = Progress(done=250, total=1000, errors=3, tokens=12_345, cost="¥0.0412", elapsed_s=10.0)
    text = render(p, 100)
    assert text == "[#####---------------] 250/1,000  3 errors  12,345 tokens  ¥0.0412  25.0/s  ETA 30 s"
    assert render(p, 40) == text[len("[#####---------------] ") :][:39]  # no room for the bar: cut, never wrapped
    unknown = render(Progress(5, None, 1, 10, "$0.01", 2.0), 80)
    assert unknown == "5 done  1 error  10 tokens  $0.01  2.5/s"


def test_the_progress_bar_redraws_at_most_every_interval_and_keeps_notes_above_it() -> None:
    now = [0.0]
    out = io.StringIO()
    bar = ProgressBar(out, interval=0.1, clock=lambda: now[0], width=lambda: 60)
    p = Progress(1, 2, 0, 0, "$0", 1.0)
    bar.update(p)
    bar.update(p)  # too soon
    now[0] = 0.2
    bar.update(p)
    assert out.getvalue().count("\r[") == 2
    bar.note("relay: a note")
    assert out.getvalue().endswith("\r\x1b[Krelay: a note\n\r" + render(p, 60) + "\x1b[K")
    bar.clear()
    assert out.getvalue().endswith("\r\x1b[K")


def test_lines_for_stdout_on_the_bars_terminal_are_written_above_it() -> None:
    err, out = io.StringIO(), io.StringIO()
    bar = ProgressBar(err, clock=lambda: 0.0, width=lambda: 60)
    p = Progress(1, 2, 0, 0, "$0", 1.0)
    bar.update(p)
    bar.write_through(out, '{"id": "1"}\n')
    assert out.getvalue() == '{"id": "1"}\n'
    assert err.getvalue().endswith("\x1b[K\r\x1b[K\r" + render(p, 60) + "\x1b[K")
