"""A chat session: the conversation, the profile and model it talks to, and one turn end to end.

Each turn goes through the request pipeline (command ``chat``), so retries, fallback profiles, ledger
rows and budget checks work as for ``relay stream``. The conversation is stored in the ledger database after
each answer (unless ``--no-store``); a store that fails is a warning, never the end of the chat.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from relaycli.chat.conversation import AnswerMeta, ChatMessage, Conversation, answer_reserve, fit_context, title_of
from relaycli.config.profile import Profile
from relaycli.datatypes import Delta, Message
from relaycli.errors import RelayError
from relaycli.pipeline import Answer, Ask, Pipeline
from relaycli.pipeline.request import CacheUse

if TYPE_CHECKING:
    from relaycli.chat.render import View
    from relaycli.ledger import Ledger
    from relaycli.ledger.conversations import ConversationInfo, Conversations, StoredMessage
    from relaycli.usage.prices import PriceTable


@dataclass(frozen=True, slots=True)
class ChatServices:
    """What a chat needs from the rest of relay, handed over by the command."""

    pipeline: Pipeline
    profile: Callable[[str | None], Profile]  # by name (None: the default); ConfigError when unknown
    profile_names: Callable[[], list[str]]
    default_model: Callable[[Profile], str]  # RELAY_MODEL, else the profile's default_model
    prices: Callable[[], PriceTable]
    ledger: Callable[[], Ledger]
    models: Callable[[Profile], list[str]]  # the endpoint's model ids (may raise RelayError or OSError)
    history: Path  # the readline history file
    env: Mapping[str, str]


class ChatSession:
    def __init__(
        self,
        services: ChatServices,
        view: View,
        *,
        profile: Profile,
        model: str,
        system: str | None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        store: bool = True,
        shield: Callable[[], AbstractContextManager[object]] | None = None,
        quiet: Callable[[], AbstractContextManager[object]] = nullcontext,
        cache: bool = False,
    ) -> None:
        self.services = services
        self.view = view
        self.profile = profile
        self.model = model
        self.system = system
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.store_enabled = store
        self.cache = cache  # answer repeated questions from the response cache (/retry always asks again)
        self.conversation = Conversation()
        self.failed_prompt: str | None = None  # a question that got no answer (for /retry)
        self.dropped_turns = 0
        self._shield = shield  # holds Ctrl-C back while a chunk is drawn
        self._quiet = quiet  # around a whole answer (the terminal stops echoing keys)
        self._store: Conversations | None = None
        self._models: list[str] | None = None

    # -- the store ----------------------------------------------------------------------------------
    def store(self) -> Conversations | None:
        if not self.store_enabled:
            return None
        if self._store is None:
            from relaycli.ledger.conversations import Conversations

            self._store = Conversations(self.services.ledger())
        return self._store

    def _saving(self, action: Callable[[Conversations], object]) -> None:
        """Store something of the conversation; a ledger that cannot be opened or written is a warning."""
        try:
            store = self.store()
            if store is None:
                return
            action(store)
        except (RelayError, OSError) as exc:
            self.view.warn(f"conversation not saved: {getattr(exc, 'message', exc)}")

    def resume(self, info: ConversationInfo, messages: list[StoredMessage]) -> None:
        """Go on with a stored conversation (its profile, model and system prompt are the caller's choice)."""
        self.conversation = Conversation(id=info.id, title=info.title, messages=[_from_stored(m) for m in messages])

    # -- settings -----------------------------------------------------------------------------------
    def label(self) -> str:
        return f"{self.profile.name} · {self.model}"

    def set_profile(self, name: str) -> None:
        profile = self.services.profile(name)  # ConfigError for an unknown name
        self.profile = profile
        if profile.default_model:
            self.model = profile.default_model
        self._models = None
        self._remember_settings()

    def set_model(self, name: str) -> None:
        self.model = name
        self._remember_settings()

    def set_system(self, text: str | None) -> None:
        self.system = text
        self._remember_settings()

    def clear(self) -> None:
        self.conversation = Conversation()
        self.failed_prompt = None
        self.dropped_turns = 0

    def _remember_settings(self) -> None:
        conversation_id = self.conversation.id
        if conversation_id is not None:
            self._saving(
                lambda store: store.append(
                    conversation_id, [], profile=self.profile.name, model=self.model, system=self.system
                )
            )

    def known_models(self) -> list[str]:
        """Model names for completion: aliases, the endpoint's list (asked once), the price table."""
        if self._models is None:
            names = set(self.profile.aliases)
            names.update(n for n in (self.profile.default_model, self.model) if n)
            try:
                names.update(self.services.models(self.profile))
            except (RelayError, OSError):
                names.update(self.services.prices().models())  # the endpoint would not say: every model relay knows
            self._models = sorted(names)
        return self._models

    # -- turns --------------------------------------------------------------------------------------
    def ask(self, text: str) -> None:
        """Send ``text`` with the conversation so far; stream, record and store the answer.

        Ctrl-C keeps what arrived (marked interrupted) and re-raises; a RelayError is re-raised with
        the question remembered for /retry.
        """
        history = [Message(m.role, m.content) for m in self.conversation.active()]
        self._turn(text, [*history, Message("user", text)], new_question=True)

    def retry(self) -> bool:
        """Ask for the last answer again (or answer the last question that got none). False: nothing to
        retry."""
        active = self.conversation.active()
        if active and active[-1].role == "assistant":
            last = active.pop()
            last.superseded = True
            conversation_id, seq = self.conversation.id, last.seq
            if conversation_id is not None and seq:
                self._saving(lambda store: store.supersede(conversation_id, seq))
        if active and active[-1].role == "user":
            self._turn(active[-1].content, [Message(m.role, m.content) for m in active], new_question=False)
            return True
        if self.failed_prompt is not None:
            self.ask(self.failed_prompt)
            return True
        return False

    def _turn(self, question: str, messages: list[Message], *, new_question: bool) -> None:
        wire = self.profile.resolve_model(self.model)
        price = self.services.prices().lookup(wire)
        window = price.context_window if price is not None else None
        sent, dropped = fit_context(
            messages, system=self.system, window=window, reserve=answer_reserve(window, self.max_tokens)
        )
        if dropped != self.dropped_turns:
            if dropped > self.dropped_turns:
                oldest = "the oldest turn is" if dropped == 1 else f"the oldest {dropped} turns are"
                self.view.note(
                    f"the conversation is longer than {self.model}'s context window "
                    f"({window:,} tokens): {oldest} not sent"
                )
            self.dropped_turns = dropped
        ask = Ask(
            model=self.model,
            messages=tuple(sent),
            system=self.system,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
        )
        sink = self.view.answer()
        parts: list[str] = []

        def on_delta(delta: Delta) -> None:
            if delta.kind != "text" or not delta.text:
                return
            parts.append(delta.text)
            if self._shield is None:
                sink.feed(delta.text)
                return
            with self._shield():
                sink.feed(delta.text)

        try:
            with self._quiet():  # notes from the pipeline go above the answer being drawn
                answer = self.services.pipeline.run(
                    ask,
                    on_delta,
                    profile=self.profile,
                    command="chat",
                    notes=self.view.notes_during(sink),
                    shown=lambda: bool(parts),
                    cache=CacheUse(read=new_question, write=True) if self.cache else None,
                    priority="high",  # a person is waiting
                )
        except KeyboardInterrupt:
            sink.finish()
            self.view.interrupted()
            text = "".join(parts)
            if text:
                meta = AnswerMeta(
                    profile=self.profile.name,
                    model=self.model,
                    outcome="interrupted",
                    currency=self.profile.billing.currency,
                )
                self._record(question, text, meta, new_question=new_question)
            elif new_question:
                self.failed_prompt = question
            raise
        except BaseException:
            sink.finish()
            if new_question:
                self.failed_prompt = question
            raise
        sink.finish()
        self.view.footer(answer, asked_profile=self.profile.name)
        self._record(question, "".join(parts) or answer.result.text, _meta(answer), new_question=new_question)

    def _record(self, question: str, text: str, meta: AnswerMeta, *, new_question: bool) -> None:
        self.failed_prompt = None
        added: list[ChatMessage] = []
        if new_question:
            added.append(ChatMessage("user", question))
        added.append(ChatMessage("assistant", text, meta=meta))
        self.conversation.messages.extend(added)
        if not self.conversation.title:
            self.conversation.title = title_of(question)
        self._saving(lambda store: self._store_messages(store, added))

    def _store_messages(self, store: Conversations, added: list[ChatMessage]) -> None:
        if self.conversation.id is None:
            info = store.create(
                title=self.conversation.title, profile=self.profile.name, model=self.model, system=self.system
            )
            self.conversation.id = info.id
        stored = store.append(
            self.conversation.id,
            [_to_stored(m) for m in added],
            profile=self.profile.name,
            model=self.model,
            system=self.system,
        )
        for message, row in zip(added, stored, strict=True):
            message.seq = row.seq


def _meta(answer: Answer) -> AnswerMeta:
    usage = answer.result.usage
    return AnswerMeta(
        profile=answer.profile.name,
        model=answer.result.model or answer.model_asked,
        outcome="ok",
        request_id=answer.result.request_id,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cost_usd=answer.cost_usd,
        cost_billed=answer.billed,
        currency=answer.profile.billing.currency,
    )


def _to_stored(message: ChatMessage) -> StoredMessage:
    from relaycli.ledger.conversations import StoredMessage

    meta = message.meta
    if meta is None:
        return StoredMessage(role=message.role, content=message.content)
    return StoredMessage(
        role=message.role,
        content=message.content,
        profile=meta.profile,
        model=meta.model,
        outcome=meta.outcome,
        request_id=meta.request_id,
        prompt_tokens=meta.prompt_tokens,
        completion_tokens=meta.completion_tokens,
        cost_usd=meta.cost_usd,
        cost_billed=meta.cost_billed,
        currency=meta.currency,
    )


def _from_stored(row: StoredMessage) -> ChatMessage:
    meta = None
    if row.role == "assistant":
        meta = AnswerMeta(
            profile=row.profile or "",
            model=row.model or "",
            outcome=row.outcome or "ok",
            request_id=row.request_id,
            prompt_tokens=row.prompt_tokens,
            completion_tokens=row.completion_tokens,
            cost_usd=row.cost_usd,
            cost_billed=row.cost_billed,
            currency=row.currency or "USD",
        )
    role: Literal["user", "assistant"] = "assistant" if row.role == "assistant" else "user"
    return ChatMessage(role, row.content, meta=meta, seq=row.seq, superseded=row.superseded)
