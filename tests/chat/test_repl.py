"""The chat loop, its session and slash commands, driven in-process against the local relay."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from relaycli.chat import slash
from relaycli.chat.clipboard import copy
from relaycli.chat.input import StreamInput, read_message
from relaycli.chat.render import PlainView
from relaycli.chat.repl import ChatOptions, loop, run_chat
from relaycli.chat.session import ChatSession
from relaycli.commands.chat import services
from relaycli.context import AppContext
from relaycli.errors import APIError, UsageError
from relaycli.ledger import Ledger
from relaycli.ledger.conversations import Conversations


class Script:
    """A terminal user: each item is a line typed, or an exception (Ctrl-C, Ctrl-D)."""

    interactive = True

    def __init__(self, *items: object) -> None:
        self.items = list(items)
        self.interrupted_text = ""

    def read(self, prompt: str) -> str:
        item = self.items.pop(0)
        if isinstance(item, tuple):  # ("^C", text on the line)
            self.interrupted_text = item[1]
            raise KeyboardInterrupt
        if isinstance(item, BaseException):
            self.interrupted_text = ""
            raise item
        return str(item)


class Chat:
    def __init__(
        self, env: dict[str, str], *, profile: str = "mock", store: bool = True, system: str | None = None
    ) -> None:
        self.out, self.err = io.StringIO(), io.StringIO()
        self.ctx = AppContext(env=env, stdin=io.StringIO(), stdout=self.out, stderr=self.err)
        self.view = PlainView(self.out, self.err)
        chosen = self.ctx.profile(profile)
        self.session = ChatSession(
            services(self.ctx),
            self.view,
            profile=chosen,
            model=self.ctx.model(chosen, None)[0],
            system=system,
            store=store,
        )

    def run(self, *items: object) -> int:
        try:
            return loop(self.session, Script(*items), self.view)  # type: ignore[arg-type]
        finally:
            self.ctx.close()

    def answers(self) -> list[str]:
        return [line for line in self.out.getvalue().splitlines() if line.startswith("Mock answer")]

    def conversations(self) -> Conversations:
        return Conversations(Ledger.open(self.ctx.paths.ledger))


def counts(chat: Chat) -> list[int]:
    """How many messages the local relay says each answer was sent."""
    return [int(line.split()[3]) for line in chat.answers()]


def test_a_conversation_with_slash_commands(relay_env: dict[str, str], tmp_path: Path) -> None:
    chat = Chat(relay_env)
    saved = tmp_path / "chat.md"
    code = chat.run(
        "hello",
        "/model gpt-4.1",
        "/system be brief",
        "second",
        "/retry",
        "/history",
        "/cost",
        f"/save {saved}",
        "/clear",
        "third",
        "/exit",
        "never read",
    )
    assert code == 0
    # system + hello/answer/second = 4; /retry sends the same 4; after /clear only system + "third"
    assert counts(chat) == [1, 4, 4, 2]
    out = chat.out.getvalue()
    assert "model: gpt-4.1\n" in out and "system prompt set\n" in out and "new conversation\n" in out
    assert "  1. you: hello\n" in out and "  2. you: second\n" in out
    assert "conversation 1: 2 turns · " in out and "$0.0" in out
    assert saved.read_text().startswith("# hello\n")
    assert "**System:** be brief" in saved.read_text()
    footers = chat.err.getvalue()  # a footer per answer, on stderr
    assert footers.count("[gpt-4.1-mini · ") == 1 and footers.count("[gpt-4.1 · ") == 3

    store = chat.conversations()
    first, second = store.get(1), store.get(2)
    assert first is not None and (first.model, first.system) == ("gpt-4.1", "be brief")
    assert [(m.role, m.superseded) for m in store.messages(1)] == [
        ("user", False),
        ("assistant", False),
        ("user", False),
        ("assistant", True),
        ("assistant", False),
    ]
    assert second is not None and second.title == "third"
    store.ledger.close()


def test_ctrl_c_at_the_prompt_and_ctrl_d(relay_env: dict[str, str]) -> None:
    chat = Chat(relay_env)
    assert (
        chat.run(
            KeyboardInterrupt(),
            "hello",
            KeyboardInterrupt(),
            ("^C", "half a line"),
            KeyboardInterrupt(),
            KeyboardInterrupt(),
        )
        == 0
    )
    assert chat.err.getvalue().count("press Ctrl-C again or Ctrl-D to exit") == 3
    assert counts(chat) == [1]
    chat = Chat(relay_env)
    assert chat.run(EOFError()) == 0


def test_unknown_commands_get_a_hint_and_reach_no_model(relay_env: dict[str, str]) -> None:
    chat = Chat(relay_env)
    chat.run(
        "/retry", "/copy", "/modle gpt-4.1", "/etc/hosts", "//etc/hosts is a file", "/profile nope", "/save", EOFError()
    )
    err = chat.err.getvalue()
    assert "unknown command /modle: did you mean /model?" in err
    assert "unknown command /etc/hosts" in err and "start with // to send a message" in err
    assert counts(chat) == [1]  # only the // message was sent
    assert "relay: error: unknown profile 'nope' (from /profile); known profiles: mock, mock-anthropic" in err
    assert "nothing to retry yet" in err and "no answer to copy yet" in err
    assert "relay: error: /save needs a file name" in err


def test_a_failed_question_can_be_retried_and_errors_do_not_end_the_chat(relay_env: dict[str, str]) -> None:
    chat = Chat(relay_env)
    chat.run("[[mock: fail=400 fail_times=1]] first try", "/retry", "/cost", EOFError())
    assert "relay: error:" in chat.err.getvalue()
    assert counts(chat) == [1]
    assert "1 turn · " in chat.out.getvalue()


def test_an_interrupted_answer_keeps_what_arrived(relay_env: dict[str, str]) -> None:
    chat = Chat(relay_env)

    class Stop:
        def __init__(self) -> None:
            self.fed = 0

        def feed(self, text: str) -> None:
            self.fed += 1
            if self.fed == 12:
                raise KeyboardInterrupt

        def finish(self) -> None:
            pass

    chat.view.answer = Stop  # type: ignore[method-assign]
    chat.run("[[mock: words=500]] long", "/cost", EOFError())
    assert "[interrupted]" in chat.err.getvalue()
    assert "1 answer without known usage" not in chat.out.getvalue()  # nothing priced at all
    assert "1 turn · 0 in / 0 out tokens · cost unknown" in chat.out.getvalue()
    messages = chat.session.conversation.messages
    assert messages[1].meta is not None and messages[1].meta.outcome == "interrupted"
    assert messages[1].content.startswith("Mock answer to 1 messages:") and len(messages[1].content.split()) == 12
    rows = Ledger.open(chat.ctx.paths.ledger)
    assert [r.outcome for r in rows.recent()] == ["interrupted"]
    rows.close()


def test_the_oldest_turns_are_dropped_when_the_context_window_is_full(relay_env: dict[str, str]) -> None:
    home = Path(relay_env["RELAY_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('[prices."gpt-4.1-mini"]\ninput = 0.4\noutput = 1.6\ncontext_window = 400\n')
    chat = Chat(relay_env)
    chat.run(*[f"question {n}" for n in range(6)], "/history", EOFError())
    sent = counts(chat)
    assert sent[:2] == [1, 3] and max(sent) < 11 and sent[-1] % 2 == 1
    err = chat.err.getvalue()
    assert "the conversation is longer than gpt-4.1-mini's context window (400 tokens)" in err
    assert "(not sent: beyond the context window)" in chat.out.getvalue()


def test_profile_switch_and_no_store(relay_env: dict[str, str]) -> None:
    chat = Chat(relay_env, store=False)
    chat.run("hello", "/profile mock-anthropic", "again", "/profile", EOFError())
    assert counts(chat) == [1, 3]
    out = chat.out.getvalue()
    assert "profile: mock-anthropic (" in out and "model: claude" in out
    assert chat.session.conversation.id is None
    store = chat.conversations()
    assert store.latest() is None
    store.ledger.close()


def test_piped_stdin_runs_line_by_line_and_errors_end_the_run(relay_env: dict[str, str]) -> None:
    out, err = io.StringIO(), io.StringIO()
    ctx = AppContext(env=relay_env, stdin=io.StringIO("hello\n\n/cost\n"), stdout=out, stderr=err)
    assert run_chat(services(ctx), ctx.streams, ChatOptions(profile="mock")) == 0
    assert out.getvalue().startswith("Mock answer to 1 messages:")
    assert out.getvalue().splitlines()[1].startswith("conversation 1: 1 turn · 1 in / 40 out tokens · $0.0000")
    assert err.getvalue().startswith("[gpt-4.1-mini · 1 in / 40 out tokens")

    ctx = AppContext(
        env=relay_env,
        stdin=io.StringIO("[[mock: fail=400]] no\nnever sent\n"),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    with pytest.raises(APIError):
        run_chat(services(ctx), ctx.streams, ChatOptions(profile="mock", conversation=None))

    ctx = AppContext(env=relay_env, stdin=io.StringIO("x\n"), stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(UsageError):
        run_chat(services(ctx), ctx.streams, ChatOptions(profile="mock", conversation=42))


def test_continue_uses_the_conversation_profile_model_and_system(relay_env: dict[str, str]) -> None:
    ctx = AppContext(
        env=relay_env, stdin=io.StringIO("hi\n/model gpt-4.1\n"), stdout=io.StringIO(), stderr=io.StringIO()
    )
    run_chat(services(ctx), ctx.streams, ChatOptions(profile="mock-anthropic", system="be brief"))
    out, err = io.StringIO(), io.StringIO()
    ctx = AppContext(env=relay_env, stdin=io.StringIO("more\n"), stdout=out, stderr=err)
    run_chat(services(ctx), ctx.streams, ChatOptions(resume_last=True))
    assert out.getvalue().startswith("Mock answer to 4 messages:")  # system + hi + answer + more
    assert "continuing conversation 1: 'hi' (1 turn)" in err.getvalue()
    assert "[gpt-4.1 · " in err.getvalue()

    out = io.StringIO()
    ctx = AppContext(env=relay_env, stdin=io.StringIO("/system\n/model\n"), stdout=out, stderr=io.StringIO())
    run_chat(services(ctx), ctx.streams, ChatOptions(conversation=1, model="claude-haiku-4-5"))
    assert (
        "system prompt: be brief" in out.getvalue()
        and "model: claude-haiku-4-5 (profile mock-anthropic)" in out.getvalue()
    )


def test_completion(relay_env: dict[str, str]) -> None:
    chat = Chat(relay_env)
    session = chat.session
    assert slash.complete(session, "/mo", "/mo") == ["/model"]
    assert slash.complete(session, "/", "/")[:3] == ["/help", "/model", "/profile"]
    models = slash.complete(session, "/model gpt-4.1", "gpt-4.1")
    assert "gpt-4.1" in models and "gpt-4.1-mini" in models  # from the endpoint's list and the price table
    assert "claude-sonnet-4-5" in slash.complete(session, "/model cl", "cl")
    assert slash.complete(session, "/profile mock-", "mock-") == ["mock-anthropic"]
    assert slash.complete(session, "hello /mo", "/mo") == []
    chat.ctx.close()


def test_multi_line_messages() -> None:
    source = StreamInput(io.StringIO('"""\nline one\n\nline two"""\n"""single"""\nplain\n"""\nunfinished\n'))
    assert read_message(source, "", "") == "line one\n\nline two"
    assert read_message(source, "", "") == "single"
    assert read_message(source, "", "") == "plain"
    assert read_message(source, "", "") == "unfinished"
    with pytest.raises(EOFError):
        read_message(source, "", "")


def test_copy_uses_the_first_clipboard_tool_that_works() -> None:
    calls: list[tuple[list[str], bytes]] = []

    def run(argv: list[str], *, input: bytes, **kwargs: object) -> None:
        calls.append((argv, input))
        if argv[0].endswith("wl-copy"):
            raise OSError("no display")

    which = {"wl-copy": "/usr/bin/wl-copy", "xclip": "/usr/bin/xclip"}.get
    env = {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}
    assert copy("answer", env, which=which, run=run) == "xclip"
    assert calls[-1] == (["/usr/bin/xclip", "-selection", "clipboard"], b"answer")
    assert copy("answer", {}, which=which, run=run) is None  # no display: no tool is usable
    assert copy("answer", env, which=lambda name: None, run=run) is None


def test_list_json_shape(relay_env: dict[str, str]) -> None:
    ctx = AppContext(env=relay_env, stdin=io.StringIO("hi\n"), stdout=io.StringIO(), stderr=io.StringIO())
    run_chat(services(ctx), ctx.streams, ChatOptions(profile="mock"))
    from relaycli.chat.listing import list_conversations

    out = io.StringIO()
    ctx = AppContext(env=relay_env, stdout=out, stderr=io.StringIO())
    assert list_conversations(ctx.ledger(), ctx.streams, limit=5, json_out=True) == 0
    (entry,) = json.loads(out.getvalue())["conversations"]
    assert {k: entry[k] for k in ("id", "title", "profile", "model", "turns")} == {
        "id": 1,
        "title": "hi",
        "profile": "mock",
        "model": "gpt-4.1-mini",
        "turns": 1,
    }
    assert Decimal(entry["cost"]["billed"]["USD"]) > 0 and entry["cost"]["unpriced_answers"] == 0


def test_a_stream_that_breaks_before_any_text_is_asked_again(relay_env: dict[str, str]) -> None:
    chat = Chat(relay_env)
    assert chat.run("[[mock: reasoning=3 stop_after=0 fail_times=1]] hi", EOFError()) == 0
    assert len(chat.answers()) == 1  # one answer drawn, after one retry
    assert "retrying" in chat.err.getvalue()
