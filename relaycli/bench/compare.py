"""``relay bench --compare OLD.json NEW.json``: two saved runs, target by target.

Runs saved with ``--json --raw`` (or ``--save FILE``) carry every request, so the differences get bootstrap
confidence intervals; runs saved without them only carry percentiles, and the differences are shown bare.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from relaycli.bench.results import COMPARE_METRICS, comparisons
from relaycli.bench.stats import COMPARED, fmt
from relaycli.errors import UsageError


def load_run(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--compare: cannot read {path}: {exc}") from None
    except ValueError as exc:
        raise UsageError(f"--compare: {path} is not JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("targets"), list) or "config" not in doc:
        raise UsageError(f"--compare: {path} is not a saved `relay bench --json` run")
    return doc


def _samples(doc: dict[str, Any], label: str) -> dict[str, list[float]] | None:
    records = doc.get("records")
    if not isinstance(records, list):
        return None
    out: dict[str, list[float]] = {metric: [] for metric, *_ in COMPARE_METRICS}
    for rec in records:
        if rec.get("target") == label and rec.get("ok") and not rec.get("warmup"):
            for metric in out:
                if rec.get(metric) is not None:
                    out[metric].append(float(rec[metric]))
    return out


def compare_runs(old_path: Path, new_path: Path, *, seed: int = 0) -> dict[str, Any]:
    old, new = load_run(old_path), load_run(new_path)
    old_targets = {t["label"]: t for t in old["targets"]}
    out: list[dict[str, Any]] = []
    matched = []
    for target in new["targets"]:
        label = target["label"]
        before = old_targets.get(label)
        if before is None:
            continue
        matched.append(label)
        names = [f"{label} ({old_path.name})", f"{label} ({new_path.name})"]
        a, b = _samples(old, label), _samples(new, label)
        if a is not None and b is not None:
            out.extend(comparisons(names, [a, b], 0, seed=seed))
            continue
        for metric, name, unit, higher in COMPARE_METRICS:
            for quantile, _ in COMPARED:
                x = (before.get(metric) or {}).get(quantile)
                y = (target.get(metric) or {}).get(quantile)
                if x is None or y is None:
                    continue
                diff = y - x
                better = None if x == 0 else (diff / x if higher else -diff / x) * 100
                out.append(
                    {
                        "baseline": names[0],
                        "target": names[1],
                        "metric": metric,
                        "quantile": quantile,
                        "baseline_value": x,
                        "value": y,
                        "difference": diff,
                        "ci95": None,
                        "n": None,
                        "significant": None,
                        "reliable": True,
                        "improvement_pct": better,
                        "verdict": f"{name} {quantile}: {'+' if diff >= 0 else ''}{fmt(diff, unit)} "
                        "(no confidence interval: save runs with --json --raw for one)",
                    }
                )
    if not matched:
        raise UsageError(
            f"--compare: no target in {new_path} is also in {old_path} "
            f"({', '.join(old_targets)} vs {', '.join(t['label'] for t in new['targets'])})"
        )
    warnings = []
    changed = load_differences(old.get("config") or {}, new.get("config") or {})
    if changed:
        warnings.append(
            f"--compare: {old_path.name} and {new_path.name} ran with different load settings "
            f"({'; '.join(changed)}): the differences may come from that, not from the endpoints"
        )
    return {"old": str(old_path), "new": str(new_path), "targets": matched, "comparisons": out, "warnings": warnings}


# settings that change what a run measures, as named in the config block
LOAD_SETTINGS = ("mode", "concurrency", "rate", "n", "duration_s", "max_tokens", "prompts", "prompt_source")


def load_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``"concurrency 1 vs 8"`` for each load setting the two runs' config blocks disagree on."""

    def show(value: Any) -> str:
        return "none" if value is None else f"{value:g}" if isinstance(value, float) else str(value)

    return [
        f"{name} {show(old.get(name))} vs {show(new.get(name))}"
        for name in LOAD_SETTINGS
        if old.get(name) != new.get(name)
    ]
