"""A chat conversation in memory: its messages, what it cost, what fits in the model's context, and its
markdown transcript. Pure: standard library only, no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from relaycli.datatypes import Message
from relaycli.usage.money import format_money

TITLE_CHARS = 60


@dataclass(frozen=True, slots=True)
class AnswerMeta:
    """What the request behind an answer reported. ``None``: unknown (interrupted, or not reported)."""

    profile: str
    model: str
    outcome: str = "ok"  # 'ok' or 'interrupted'
    request_id: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: Decimal | None = None
    cost_billed: Decimal | None = None
    currency: str = "USD"


@dataclass(slots=True)
class ChatMessage:
    role: Literal["user", "assistant"]
    content: str
    meta: AnswerMeta | None = None  # assistant messages only
    seq: int = 0  # position in the store (0: not stored)
    superseded: bool = False  # an answer replaced by /retry: not sent, still paid for


@dataclass(frozen=True, slots=True)
class Totals:
    turns: int
    answers: int  # every answer paid for, those replaced by /retry included
    prompt_tokens: int
    completion_tokens: int
    usd: Decimal | None
    billed: dict[str, Decimal]
    unknown: int  # answers whose usage or price is unknown

    def describe(self) -> str:
        tokens = f"{self.prompt_tokens:,} in / {self.completion_tokens:,} out tokens"
        if self.billed:
            cost = " + ".join(format_money(amount, currency) for currency, amount in sorted(self.billed.items()))
            if self.usd is not None and set(self.billed) != {"USD"}:
                cost += f" (list {format_money(self.usd, 'USD')})"
        else:
            cost = "cost unknown" if self.answers else format_money(Decimal(0), "USD")
        turns = f"{self.turns} turn{'s' if self.turns != 1 else ''}"
        unknown = (
            f" · {self.unknown} answer{'s' if self.unknown != 1 else ''} without known usage or price"
            if self.unknown and self.billed
            else ""
        )
        return f"{turns} · {tokens} · {cost}{unknown}"


@dataclass(slots=True)
class Conversation:
    id: int | None = None  # None until stored (or never, with --no-store)
    title: str = ""
    messages: list[ChatMessage] = field(default_factory=list)

    def active(self) -> list[ChatMessage]:
        """The messages that are sent with the next request (answers replaced by /retry left out)."""
        return [m for m in self.messages if not m.superseded]

    def last_answer(self) -> ChatMessage | None:
        active = self.active()
        return active[-1] if active and active[-1].role == "assistant" else None

    def turns(self) -> list[tuple[ChatMessage, ChatMessage | None]]:
        """(question, answer) pairs of the active messages; the answer may be missing."""
        pairs: list[tuple[ChatMessage, ChatMessage | None]] = []
        for message in self.active():
            if message.role == "user":
                pairs.append((message, None))
            elif pairs and pairs[-1][1] is None:
                pairs[-1] = (pairs[-1][0], message)
        return pairs

    def totals(self) -> Totals:
        answers = [m.meta for m in self.messages if m.role == "assistant" and m.meta is not None]
        billed: dict[str, Decimal] = {}
        usd: Decimal | None = None
        unknown = 0
        for meta in answers:
            if meta.cost_billed is None:
                unknown += 1
                continue
            billed[meta.currency] = billed.get(meta.currency, Decimal(0)) + meta.cost_billed
            if meta.cost_usd is not None:
                usd = (usd or Decimal(0)) + meta.cost_usd
        return Totals(
            turns=sum(1 for m in self.active() if m.role == "user"),
            answers=len(answers),
            prompt_tokens=sum(m.prompt_tokens or 0 for m in answers),
            completion_tokens=sum(m.completion_tokens or 0 for m in answers),
            usd=usd,
            billed=billed,
            unknown=unknown,
        )


def title_of(text: str) -> str:
    """A conversation's title: the first line of its first message, shortened."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"


def estimate_tokens(text: str) -> int:
    """A cautious token estimate: 4 ASCII characters a token, one token for any other character (CJK
    text runs close to that)."""
    ascii_chars = len(text.encode("ascii", "ignore"))
    return -(-ascii_chars // 4) + (len(text) - ascii_chars)


def fit_context(
    messages: Sequence[Message], *, system: str | None, window: int | None, reserve: int
) -> tuple[list[Message], int]:
    """The messages to send so that they (with the system prompt and ``reserve`` tokens for the answer)
    fit in ``window``: the oldest whole turns are dropped first, the last message is always kept.
    Returns the kept messages and the number of turns dropped. ``window=None``: unknown, keep all."""
    kept = list(messages)
    if window is None:
        return kept, 0
    budget = window - reserve - (estimate_tokens(system) + 4 if system else 0)
    sizes = [estimate_tokens(m.content) + 4 for m in kept]
    total = sum(sizes)
    dropped = 0
    start = 0
    while total > budget and start < len(kept) - 1:
        # drop one turn: a user message and the answers after it
        end = start + 1
        while end < len(kept) - 1 and kept[end].role != "user":
            end += 1
        total -= sum(sizes[start:end])
        start = end
        dropped += 1
    return kept[start:], dropped


def answer_reserve(window: int | None, max_tokens: int | None) -> int:
    """Tokens kept free for the answer: ``--max-tokens``, else a quarter of the window up to 4,096."""
    if max_tokens is not None:
        return max_tokens
    return min(4096, (window or 0) // 4)


def to_markdown(conversation: Conversation, *, system: str | None, header: str) -> str:
    """The conversation as a markdown document (``/save``)."""
    parts = [f"# {conversation.title or 'relay chat'}\n", f"*{header}*\n"]
    if system:
        parts.append(f"**System:** {system}\n")
    for question, answer in conversation.turns():
        parts.append(f"## You\n\n{question.content.rstrip()}\n")
        if answer is not None:
            who = answer.meta.model if answer.meta else "Answer"
            note = " (interrupted)" if answer.meta and answer.meta.outcome == "interrupted" else ""
            parts.append(f"## {who}{note}\n\n{answer.content.rstrip()}\n")
    return "\n".join(parts)
