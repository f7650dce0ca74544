"""The conversation model: what is sent, what fits the context window, what it cost, the transcript."""

from __future__ import annotations

from decimal import Decimal

from relaycli.chat.conversation import (
    AnswerMeta,
    ChatMessage,
    Conversation,
    answer_reserve,
    estimate_tokens,
    fit_context,
    title_of,
    to_markdown,
)
from relaycli.datatypes import Message


def meta(billed: str | None, currency: str = "CNY", outcome: str = "ok") -> AnswerMeta:
    return AnswerMeta(
        profile="relay",
        model="gpt-4.1",
        outcome=outcome,
        prompt_tokens=None if billed is None else 10,
        completion_tokens=None if billed is None else 20,
        cost_usd=None if billed is None else Decimal(billed) / 2,
        cost_billed=None if billed is None else Decimal(billed),
        currency=currency,
    )


def conversation() -> Conversation:
    return Conversation(
        title="t",
        messages=[
            ChatMessage("user", "one"),
            ChatMessage("assistant", "first", meta("0.002")),
            ChatMessage("user", "two"),
            ChatMessage("assistant", "replaced", meta("0.001"), superseded=True),
            ChatMessage("assistant", "second", meta("0.003")),
            ChatMessage("user", "three"),
            ChatMessage("assistant", "partial", meta(None, outcome="interrupted")),
        ],
    )


def test_active_messages_turns_and_last_answer() -> None:
    c = conversation()
    assert [m.content for m in c.active()] == ["one", "first", "two", "second", "three", "partial"]
    assert [(q.content, a.content if a else None) for q, a in c.turns()] == [
        ("one", "first"),
        ("two", "second"),
        ("three", "partial"),
    ]
    last = c.last_answer()
    assert last is not None and last.content == "partial"
    c.messages.append(ChatMessage("user", "unanswered"))
    assert c.last_answer() is None and c.turns()[-1][1] is None


def test_totals_count_replaced_answers_and_say_what_is_unknown() -> None:
    totals = conversation().totals()
    assert (totals.turns, totals.answers, totals.prompt_tokens, totals.completion_tokens) == (3, 4, 30, 60)
    assert totals.billed == {"CNY": Decimal("0.006")} and totals.usd == Decimal("0.003") and totals.unknown == 1
    assert totals.describe() == (
        "3 turns · 30 in / 60 out tokens · ¥0.006000 (list $0.003000) · 1 answer without known usage or price"
    )
    assert Conversation().totals().describe() == "0 turns · 0 in / 0 out tokens · $0.00"


def test_estimate_tokens_is_cautious_with_non_ascii_text() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd" * 10) == 10
    assert estimate_tokens("你好世界") == 4


def test_fit_context_drops_the_oldest_whole_turns() -> None:
    messages = [
        Message("user", "q" * 400),
        Message("assistant", "a" * 400),
        Message("user", "q" * 400),
        Message("assistant", "a" * 400),
        Message("user", "last"),
    ]
    assert fit_context(messages, system=None, window=None, reserve=0) == (messages, 0)
    assert fit_context(messages, system=None, window=10_000, reserve=100) == (messages, 0)
    kept, dropped = fit_context(messages, system=None, window=300, reserve=50)
    assert (kept, dropped) == (messages[2:], 1)
    kept, dropped = fit_context(messages, system="s" * 400, window=300, reserve=50)
    assert (kept, dropped) == (messages[4:], 2)
    kept, dropped = fit_context(messages, system=None, window=1, reserve=0)  # the question always goes
    assert kept == [Message("user", "last")] and dropped == 2
    assert answer_reserve(1_000_000, None) == 4096 and answer_reserve(8000, None) == 2000
    assert answer_reserve(8000, 100) == 100 and answer_reserve(None, None) == 0


def test_title_and_markdown_transcript() -> None:
    assert title_of("\n  Why is the sky blue?\nmore") == "Why is the sky blue?"
    assert len(title_of("x" * 100)) == 60 and title_of("x" * 100).endswith("…")
    text = to_markdown(conversation(), system="be brief", header="relay chat · mock")
    assert text.startswith("# t\n\n*relay chat · mock*\n\n**System:** be brief\n")
    assert "## You\n\none\n\n## gpt-4.1\n\nfirst\n" in text
    assert "replaced" not in text and "## gpt-4.1 (interrupted)\n\npartial\n" in text
