"""``relay chat --list``: recent conversations, newest first (a table, TSV when piped, or JSON)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from relaycli.output.money import decimal_string
from relaycli.usage.money import format_money

if TYPE_CHECKING:
    from relaycli.ledger import Ledger
    from relaycli.ledger.conversations import ConversationSummary
    from relaycli.output.streams import Streams


def list_conversations(ledger: Ledger | None, streams: Streams, *, limit: int, json_out: bool) -> int:
    """The ``limit`` most recent conversations (``ledger`` None: nothing was ever recorded)."""
    summaries: list[ConversationSummary] = []
    if ledger is not None:
        from relaycli.ledger.conversations import Conversations

        summaries = Conversations(ledger).recent(limit)
    return render_conversations(summaries, streams, json_out=json_out)


def render_conversations(summaries: list[ConversationSummary], streams: Streams, *, json_out: bool) -> int:
    if json_out:
        streams.stdout.write(json.dumps({"conversations": [_as_json(s) for s in summaries]}, ensure_ascii=False) + "\n")
        return 0
    if not summaries:
        streams.note("no conversations yet: `relay chat` starts one")
        return 0
    from relaycli.output.tables import table

    table(
        streams.stdout,
        isatty=streams.stdout_isatty,
        title=None,
        columns=["id", "title", "model", "turns", "cost", "last used (UTC)"],
        rows=[
            [str(s.info.id), s.info.title, s.info.model, str(s.turns), _cost(s), s.info.updated[:16].replace("T", " ")]
            for s in summaries
        ],
        right=["id", "turns", "cost"],
        whole=["model", "last used (UTC)"],
        shorten=["title"],
        drop=["turns", "last used (UTC)", "cost"],
        note=streams.note,
    )
    return 0


def _cost(summary: ConversationSummary) -> str:
    if not summary.billed:
        return "unpriced" if summary.unpriced else "-"
    return " + ".join(format_money(amount, currency) for currency, amount in sorted(summary.billed.items()))


def _as_json(summary: ConversationSummary) -> dict[str, Any]:
    info = summary.info
    return {
        "id": info.id,
        "title": info.title,
        "profile": info.profile,
        "model": info.model,
        "turns": summary.turns,
        "cost": {
            "billed": {currency: decimal_string(amount) for currency, amount in sorted(summary.billed.items())},
            "unpriced_answers": summary.unpriced,
        },
        "created": info.created,
        "updated": info.updated,
    }
