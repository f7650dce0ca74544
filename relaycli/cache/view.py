"""``relay cache`` output: the JSON documents, and the text and tables made from them (so both agree)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from relaycli.cache.entry import Entry, Stats
from relaycli.config.cache import CacheSettings, format_duration, format_size
from relaycli.output.money import decimal_string

if TYPE_CHECKING:
    from relaycli.output.streams import Streams

__all__ = ["entries_table", "entry_json", "stats_json", "stats_text"]


def stats_json(path: Path, settings: CacheSettings, stats: Stats | None, *, now: float) -> dict[str, Any]:
    """The figures of ``relay cache stats --json``; ``stats`` None: no cache file yet."""
    doc: dict[str, Any] = {
        "path": str(path),
        "enabled": settings.enabled,
        "ttl_s": settings.ttl_s,
        "max_size": settings.max_size,
        "entries": 0,
        "size_bytes": 0,
        "oldest": None,
        "newest": None,
        "oldest_age_s": None,
        "newest_age_s": None,
        "hits": 0,
        "misses": 0,
        "hit_rate": None,
        "saved_usd": "0",
        "saved_billed": {},
        "saved_unknown": 0,
    }
    if stats is None:
        return doc
    rate = stats.hit_rate
    doc.update(
        entries=stats.entries,
        size_bytes=stats.file_bytes,
        oldest=_iso(stats.oldest),
        newest=_iso(stats.newest),
        oldest_age_s=_age(stats.oldest, now),
        newest_age_s=_age(stats.newest, now),
        hits=stats.hits,
        misses=stats.misses,
        hit_rate=None if rate is None else round(rate, 4),
        saved_usd=decimal_string(stats.saved_usd),
        saved_billed={currency: decimal_string(amount) for currency, amount in sorted(stats.saved_billed.items())},
        saved_unknown=stats.saved_unknown,
    )
    return doc


def stats_text(out: TextIO, doc: dict[str, Any]) -> None:
    from relaycli.usage.money import format_money

    lines = [("cache", doc["path"] + ("" if doc["enabled"] else "  (off: [cache] enabled = false)"))]
    lines.append(
        (
            "entries",
            f"{doc['entries']:,} ({format_size(doc['size_bytes'])} on disk, at most {format_size(doc['max_size'])})",
        )
    )
    if doc["entries"]:
        lines.append(("oldest", f"stored {format_duration(doc['oldest_age_s'])} ago"))
        lines.append(("newest", f"stored {format_duration(doc['newest_age_s'])} ago"))
    lookups = doc["hits"] + doc["misses"]
    rate = f" ({doc['hit_rate'] * 100:.1f} %)" if doc["hit_rate"] is not None else ""
    lines.append(("hits", f"{doc['hits']:,} of {lookups:,} lookups{rate}"))
    saved = format_money(Decimal(doc["saved_usd"]), "USD")
    billed = [
        format_money(Decimal(v), c) for c, v in doc["saved_billed"].items() if c != "USD" or v != doc["saved_usd"]
    ]
    if billed:
        saved += f" ({', '.join(billed)} billed)"
    if doc["saved_unknown"]:
        saved += f", plus {doc['saved_unknown']:,} hit{'s' if doc['saved_unknown'] != 1 else ''} of unpriced models"
    lines.append(("saved", saved))
    lines.append(("ttl", format_duration(doc["ttl_s"])))
    for name, value in lines:
        out.write(f"{name:<8} {value}\n")


def entry_json(entry: Entry, *, now: float, show_prompt: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "key": entry.key,
        "age_s": _age(entry.created, now),
        "created": _iso(entry.created),
        "last_used": _iso(entry.last_used),
        "profile": entry.profile,
        "model": entry.model,
        "model_answered": entry.model_answered,
        "size_bytes": entry.size,
        "hits": entry.hits,
        "finish_reason": entry.finish_reason,
        "cost_usd": decimal_string(entry.cost_usd),
        "cost_billed": decimal_string(entry.cost_billed),
        "currency": entry.currency,
    }
    if show_prompt:
        doc["prompt"] = _prompt(entry.prompt)
    return doc


def entries_table(streams: Streams, rows: list[dict[str, Any]], *, show_prompts: bool) -> None:
    from relaycli.output.tables import table

    columns = ["key", "age", "profile", "model", "size", "hits"]
    if show_prompts:
        columns.append("prompt")
    cells = []
    for row in rows:
        line = [
            row["key"][:12],
            format_duration(row["age_s"] or 0),
            row["profile"],
            row["model_answered"] or row["model"],
            format_size(row["size_bytes"]),
            f"{row['hits']:,}",
        ]
        if show_prompts:
            line.append(_last_user(row.get("prompt")))
        cells.append(line)
    table(
        streams.stdout,
        isatty=streams.stdout_isatty,
        title=None,
        columns=columns,
        rows=cells,
        right=["age", "size", "hits"],
        whole=["key", "profile"],
        shorten=["model", "prompt"],
        drop=["hits", "size", "profile", "age"],
        note=streams.note,
    )


def _prompt(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    messages = [{"role": role, "content": content} for role, content in data.get("messages", [])]
    return {"system": data.get("system"), "messages": messages}


def _last_user(prompt: dict[str, Any] | None) -> str:
    if not prompt:
        return ""
    users = [m["content"] for m in prompt["messages"] if m["role"] == "user"]
    text = users[-1] if users else ""
    return " ".join(text.split())[:200]


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _age(moment: float | None, now: float) -> float | None:
    return None if moment is None else round(max(now - moment, 0.0), 3)
