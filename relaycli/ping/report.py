"""``relay ping``'s output: the per-profile summary, the JSON document, the live line of ``--count`` and
the table."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from relaycli.ping.run import PHASES, Attempt, Report, key_label

if TYPE_CHECKING:
    from relaycli.limits.status import LimitsStatus

Limits = Mapping[str, "LimitsStatus"]  # profile name -> its limits and circuit now


def _stats(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    avg = math.fsum(values) / len(values)
    var = math.fsum((v - avg) ** 2 for v in values) / len(values)
    return {"min": min(values), "avg": avg, "max": max(values), "stddev": math.sqrt(var)}


def summary(report: Report) -> dict[str, dict[str, float] | None]:
    ok = [a for a in report.attempts if a.error is None]
    out = {f"{p}_ms": _stats([a.timings[p] for a in ok if a.timings.get(p) is not None]) for p in PHASES}  # type: ignore[misc]
    out["chat_ttft_ms"] = _stats([a.chat_ttft_ms for a in ok if a.chat_ttft_ms is not None])
    return out


def attempt_dict(a: Attempt) -> dict[str, Any]:
    return {
        "status": a.status,
        "auth": a.auth,
        "models": a.models,
        "address": a.address,
        **{f"{p}_ms": a.timings.get(p) for p in PHASES},
        "chat_ttft_ms": a.chat_ttft_ms,
        "chat_status": a.chat_status,
        "error": a.error.message if a.error else None,
        "exit_code": a.exit_code,
    }


def to_json(reports: Sequence[Report], limits: Limits | None = None) -> dict[str, Any]:
    """``{"results": [...]}``; with ``limits``, each result also has ``"limits"`` (what is left of each
    bucket, in flight, a pause) and ``"breaker"`` (the settings and the circuit's state)."""
    results = []
    for r in reports:
        last = r.attempts[-1]
        first_error = next((a.error for a in r.attempts if a.error is not None), None)
        entry = {
            "profile": r.profile.name,
            "host": r.profile.host,
            "protocol": r.profile.protocol,
            "ok": r.ok,
            **attempt_dict(last),
            "key_source": r.key_source,
            "error": first_error.message if first_error else None,
            "exit_code": r.exit_code,
        }
        if len(r.attempts) > 1:
            entry["count"] = len(r.attempts)
            entry["failed"] = sum(1 for a in r.attempts if a.error is not None)
            entry["stats"] = summary(r)
            entry["runs"] = [attempt_dict(a) for a in r.attempts]
        status = (limits or {}).get(r.profile.name)
        if status is not None:
            from relaycli.limits.status import to_json as limits_json

            entry.update(limits_json(status))
        results.append(entry)
    return {"results": results}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}" if value < 10 else f"{value:.1f}"


def attempt_line(report: Report, attempt: Attempt, seq: int) -> str:
    """One ping(8)-style line."""
    if attempt.error is not None and attempt.status is None:
        return f"{report.profile.name}: seq={seq} error: {attempt.error.message}"
    t = attempt.timings
    line = (
        f"{report.profile.name}: seq={seq} status={attempt.status} auth={attempt.auth} "
        f"models={attempt.models if attempt.models is not None else '-'} dns={_ms(t.get('dns'))} "
        f"connect={_ms(t.get('connect'))} tls={_ms(t.get('tls'))} ttfb={_ms(t.get('ttfb'))} "
        f"total={_ms(t.get('total'))} ms"
    )
    if attempt.chat_ttft_ms is not None:
        line += f" chat_ttft={_ms(attempt.chat_ttft_ms)} ms"
    return line


def render(out: TextIO, reports: Sequence[Report], *, isatty: bool, limits: Limits | None = None) -> None:
    """The table (one row per profile), or with ``--count`` the statistics; ``limits`` adds each profile's
    limits and circuit (columns in the table, two lines in the statistics)."""
    from relaycli.limits.status import circuit_text, limits_text

    shown = limits or {}
    if any(len(r.attempts) > 1 for r in reports):
        for r in reports:
            failed = sum(1 for a in r.attempts if a.error is not None)
            out.write(
                f"--- {r.profile.name} ({r.profile.host}) ping statistics ---\n"
                f"{len(r.attempts)} sent, {len(r.attempts) - failed} ok, {failed} failed; "
                f"key: {key_label(r.key_source)}\n"
            )
            status = shown.get(r.profile.name)
            if status is not None:
                out.write(f"   limits {limits_text(status)}\n  circuit {circuit_text(status)}\n")
            for name, stats in summary(r).items():
                if stats:
                    out.write(
                        f"{name[:-3]:>9} min/avg/max/stddev = {_ms(stats['min'])}/{_ms(stats['avg'])}/"
                        f"{_ms(stats['max'])}/{_ms(stats['stddev'])} ms\n"
                    )
        return
    from relaycli.output.tables import table

    chat = any(a.chat_ttft_ms is not None or a.chat_status is not None for r in reports for a in r.attempts)
    columns = (
        ["profile", "host", "status", "auth", "key", "models", "dns ms", "connect ms", "tls ms", "ttfb ms", "total ms"]
        + (["chat ttft ms"] if chat else [])
        + (["limits", "circuit"] if shown else [])
        + ["error"]
    )
    rows = []
    for r in reports:
        a = r.attempts[-1]
        status = shown.get(r.profile.name)
        rows.append(
            [
                r.profile.name,
                r.profile.host,
                str(a.status or "-"),
                a.auth,
                key_label(r.key_source),
                "-" if a.models is None else str(a.models),
                *(_ms(a.timings.get(p)) for p in PHASES),
                *([_ms(a.chat_ttft_ms)] if chat else []),
                *([limits_text(status), circuit_text(status, rule=False)] if status is not None else []),
                *(["-", "-"] if shown and status is None else []),
                a.error.message if a.error else "",
            ]
        )
    table(
        out,
        isatty=isatty,
        title=None,
        columns=columns,
        rows=rows,
        right=["status", "models", "dns ms", "connect ms", "tls ms", "ttfb ms", "total ms", "chat ttft ms"],
        whole=["profile", "host", "auth"],
        shorten=["key", "error", "limits", "circuit"],
        drop=[
            "limits",
            "key",
            "dns ms",
            "tls ms",
            "connect ms",
            "models",
            "status",
            "ttfb ms",
            "chat ttft ms",
            "circuit",
        ],
    )
