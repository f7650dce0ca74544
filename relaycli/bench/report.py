"""Drawing a bench result: per-target tables, the relay-vs-direct comparison, verdicts, histograms, CSV and
the live progress line. Reads the JSON document (``results``), so a saved run renders the same way."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any, TextIO

from relaycli.bench.runner import Progress
from relaycli.bench.stats import P95_MIN_N, P99_MIN_N, fmt, percentile

ROWS: tuple[tuple[str, str, str], ...] = (
    ("ttfb_ms", "TTFB", "ms"),
    ("ttft_ms", "TTFT", "ms"),
    ("latency_ms", "latency", "ms"),
    ("corrected_latency_ms", "latency, corrected", "ms"),
    ("schedule_lag_ms", "schedule lag", "ms"),
    ("tpot_ms", "TPOT", "ms"),
    ("chunk_gap_ms", "chunk gap", "ms"),
    ("output_tokens_per_s", "output tokens/s", ""),
    ("chunks_per_request", "chunks/request", ""),
    ("tokens_per_chunk", "tokens/chunk", ""),
)
COLUMNS = ("n", "mean", "min", "p50", "p90", "p95", "p99", "max")
TABLE_ROWS = {
    "ttft_ms": "TTFT",
    "latency_ms": "latency",
    "ttfb_ms": "TTFB",
    "tpot_ms": "TPOT",
    "output_tokens_per_s": "output tokens/s",
}


def _num(value: Any) -> str:
    return "-" if value is None else fmt(float(value), "")


def _money(value: str | None) -> str:
    """A money string from the document (exact decimal) as the table shows it."""
    if value is None:
        return "unpriced"
    amount = float(value)
    return f"${amount:.6f}" if amount < 0.01 else f"${amount:.4f}"


def render(out: TextIO, doc: dict[str, Any], *, isatty: bool, histogram: dict[str, list[float]] | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(
        file=out,
        force_terminal=isatty,
        no_color=not isatty,
        highlight=False,
        soft_wrap=not isatty,
        width=None if isatty else 160,
    )
    cfg = doc["config"]
    console.print(_headline(cfg))
    if doc.get("self_check", {}).get("interrupted"):
        done = sum(t["requests"] for t in doc["targets"])
        by = doc["self_check"].get("interrupted_by") or "Ctrl-C"
        console.print(
            f"interrupted by {by} after {done} measured request(s): the figures cover the requests "
            "that finished; those cut short are counted as errors (interrupted)",
            markup=False,
        )
    flagged = False
    for target in doc["targets"]:
        table = Table(
            title=f"{target['label']}  ({target['profile']}, {target['model']} @ {target['host']})",
            title_justify="left",
            header_style="bold",
            box=None,
            pad_edge=False,
        )
        table.add_column("metric")
        for name in COLUMNS:
            table.add_column(name, justify="right")
        for key, label, _ in ROWS:
            stats = target.get(key)
            if not stats or not stats["n"]:
                continue
            cells = [str(stats["n"])] + [_num(stats[c]) for c in COLUMNS[1:]]
            if not stats["p95_reliable"]:
                cells[COLUMNS.index("p95")] += "*"
                flagged = True
            if not stats["p99_reliable"]:
                cells[COLUMNS.index("p99")] += "*"
                flagged = True
            table.add_row(f"{label} (ms)" if key.endswith("_ms") else label, *cells)
        console.print(table)
        console.print(_summary(target))
        if histogram is not None and histogram.get(target["label"]):
            console.print("\n".join(text_histogram(histogram[target["label"]], unit="ms")), markup=False)
        console.print()
    if flagged:
        console.print(f"* unreliable: p95 needs n >= {P95_MIN_N}, p99 needs n >= {P99_MIN_N}")
    if doc["comparisons"]:
        _comparison(console, doc["comparisons"])


def _headline(cfg: dict[str, Any]) -> str:
    if cfg["mode"] == "open":
        load = f"open loop, {cfg['rate']:g} req/s Poisson (seed {cfg['seed']}), at most {cfg['concurrency']} in flight"
    else:
        load = f"closed loop, {cfg['concurrency']} in flight"
    size = f"{cfg['n']} requests per target" if cfg["n"] else "no request limit"
    if cfg.get("duration_s"):
        size += f", at most {cfg['duration_s']:g} s"
    return (
        f"relay bench: {len(cfg['targets'])} target(s), {load}; {size}, {cfg['warmup']} warm-up each; "
        f"{cfg['prompts']} prompt(s) ({cfg['prompt_source']}), max_tokens {cfg['max_tokens']}"
    )


def _summary(t: dict[str, Any]) -> str:
    errors = ", ".join(f"{k} {v}" for k, v in t["errors"].items()) or "none"
    tokens = f"{t['output_tokens']}{' (estimated)' if t['output_tokens_estimated'] else ''}"
    throughput = "-" if t["throughput_tokens_per_s"] is None else f"{t['throughput_tokens_per_s']:.1f} tok/s"
    per_1k = t["cost_per_1k_output_usd"]
    if t["cost_usd"] is None and not t.get("unpriced_requests"):
        total = t.get("cost_usd_total")
        spent = f", {_money(total)} spent in all" if total and float(total) else ""
        cost = f"- per request (no successful request{spent})"
    else:
        cost = _money(t["cost_usd"]) + " per request" + ("" if per_1k is None else f", {_money(per_1k)} per 1k output")
    if t.get("unpriced_requests") and t["cost_usd"] is not None:
        cost += f" ({t['unpriced_requests']} unpriced)"
    line = (
        f"requests {t['requests']}, ok {t['ok']}, errors: {errors}; output tokens {tokens}; throughput "
        f"{throughput}; new connections {t['new_connections']}; cost {cost}"
    )
    for kind, detail in t.get("error_examples", {}).items():
        if detail:
            line += f"\n  {kind}: {detail}"
    return line


def render_comparisons(out: TextIO, comparisons: Sequence[dict[str, Any]], *, isatty: bool) -> None:
    from rich.console import Console

    console = Console(
        file=out,
        force_terminal=isatty,
        no_color=not isatty,
        highlight=False,
        soft_wrap=not isatty,
        width=None if isatty else 160,
    )
    _comparison(console, comparisons)
    if any(not c["reliable"] for c in comparisons):
        console.print(f"* unreliable: p95 needs n >= {P95_MIN_N}, p99 needs n >= {P99_MIN_N}")


def _comparison(console: Any, comparisons: Sequence[dict[str, Any]]) -> None:
    from rich.table import Table

    pairs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for c in comparisons:
        pairs.setdefault((c["baseline"], c["target"]), []).append(c)
    for (base, other), rows in pairs.items():
        table = Table(title=f"{other} vs {base}", title_justify="left", header_style="bold", box=None, pad_edge=False)
        for name in ("metric", base, other, "difference [95% CI]", "improvement"):
            table.add_column(name, justify="left" if name == "metric" else "right")
        for c in rows:
            ci = "" if c["ci95"] is None else f" [{_num(c['ci95'][0])}, {_num(c['ci95'][1])}]"
            mark = " (n.s.)" if c["significant"] is False else ""
            star = "" if c["reliable"] else "*"
            improvement = "-" if c["improvement_pct"] is None else f"{c['improvement_pct']:+.1f}%"
            table.add_row(
                f"{TABLE_ROWS.get(c['metric'], c['metric'])} {c['quantile']}{star}",
                _num(c["baseline_value"]),
                _num(c["value"]),
                f"{'+' if c['difference'] >= 0 else ''}{_num(c['difference'])}{ci}{mark}",
                improvement,
            )
        console.print(table)
        for c in rows:
            if c["metric"] in ("ttft_ms", "latency_ms") and c["quantile"] in ("p50", "p99"):
                console.print(f"- {c['verdict']}", markup=False)
        console.print()


def text_histogram(values: Sequence[float], *, unit: str = "ms", bins: int = 12, width: int = 40) -> list[str]:
    """A horizontal bar chart of ``values`` from the minimum to the p99 (with 100 or more values; else the
    maximum), in ``bins`` equal bins; values past the p99 are counted on a last line."""
    if not values:
        return []
    ordered = sorted(values)
    lo, hi = ordered[0], percentile(ordered, 0.99) if len(ordered) >= 100 else ordered[-1]
    if hi <= lo:  # all alike, up to the p99: one bar, and the rest past it
        over = sum(1 for v in ordered if v > hi)
        rows = [(f"{fmt(lo, ''):>8}   {'':>8}", len(ordered) - over)] + (
            [(f"{'>':>8}   {fmt(hi, ''):>8}", over)] if over else []
        )
        top = max(count for _, count in rows)
        return [f"  {label} {unit} | {'#' * round(count / top * width):<{width}} {count}" for label, count in rows]
    step = (hi - lo) / bins
    edges = _edge_labels([lo + i * step for i in range(bins + 1)])
    counts = [0] * bins
    over = 0
    for v in ordered:
        if v > hi:
            over += 1
            continue
        counts[min(int((v - lo) / step), bins - 1)] += 1
    top = max(counts + [over]) or 1
    lines = []
    for i, count in enumerate(counts):
        bar = "#" * round(count / top * width)
        lines.append(f"  {edges[i]:>8} - {edges[i + 1]:>8} {unit} | {bar:<{width}} {count}")
    if over:
        lines.append(f"  {'>':>8}   {edges[-1]:>8} {unit} | {'#' * round(over / top * width):<{width}} {over}")
    return lines


def _edge_labels(edges: Sequence[float]) -> list[str]:
    """The bin edges with as many decimals as it takes to tell each from the next (``141.2 - 141.4``, never
    ``141 - 141``), at least as many as ``fmt`` gives the smallest of them."""
    smallest = min(abs(e) for e in edges)
    decimals = 0 if smallest >= 100 else 1 if smallest >= 10 else 2 if smallest >= 1 else 3
    while decimals < 9:
        labels = [f"{e:.{decimals}f}" for e in edges]
        if len(set(labels)) == len(labels):
            return labels
        decimals += 1
    return [f"{e:.{decimals}f}" for e in edges]


def to_csv(doc: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["target", "profile", "model", "metric", *COLUMNS, "p95_reliable", "p99_reliable"])
    for t in doc["targets"]:
        for key, _, _ in ROWS:
            stats = t.get(key)
            if stats:
                writer.writerow(
                    [
                        t["label"],
                        t["profile"],
                        t["model"],
                        key,
                        *(_cell(stats[c]) for c in COLUMNS),
                        stats["p95_reliable"],
                        stats["p99_reliable"],
                    ]
                )
    return buf.getvalue()


def _cell(value: Any) -> Any:
    """Statistics to 0.1 µs, without binary-float noise (781.6060500000001 -> 781.6061)."""
    return round(value, 4) if isinstance(value, float) else value


def raw_csv(records: Sequence[dict[str, Any]]) -> str:
    buf = io.StringIO()
    if not records:
        return ""
    fields = [k for k in records[0] if k != "chunk_gaps_ms"]
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buf.getvalue()


class ProgressLine:
    """``\\r``-updated status on a terminal's stderr; silent when stderr is not a terminal."""

    def __init__(self, err: TextIO, *, enabled: bool) -> None:
        self.err, self.enabled = err, enabled
        self.shown = False

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        if p.warmup:
            text = "warming up..."
        else:
            parts = [
                f"{label} {done}{'/' + str(p.planned) if p.planned else ''}" + (f" ({err} err)" if err else "")
                for label, done, err in zip(p.labels, p.done, p.errors, strict=True)
            ]
            rate = sum(p.done) / p.elapsed_s if p.elapsed_s > 0 else 0.0
            lat = sorted(p.latencies_ms[-500:])
            p50 = f", latency p50 {fmt(percentile(lat, 0.5))}" if lat else ""
            text = f"{' | '.join(parts)}  {rate:.1f} req/s, {p.in_flight} in flight{p50}, {p.elapsed_s:.0f} s"
        self.err.write(f"\r\033[K{text}")
        self.err.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.err.write("\r\033[K")
            self.err.flush()
