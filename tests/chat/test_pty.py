"""`relay chat` in a real pseudo-terminal (pexpect) against the local relay: typing, streaming, slash
commands, Ctrl-C during an answer and at the prompt, Ctrl-D, history across sessions, and `-c`."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import RELAY_VARS, run_relay
from tests.integration.support import ledger_rows

pexpect = pytest.importorskip("pexpect")

PROMPT = " › "


def prompt(model: str) -> str:
    """The prompt as a pattern: profile and model (in colour), then the marker."""
    return rf"mock · {re.escape(model)}(\x1b\[0m)? › "


def interrupt_at_prompt(child: pexpect.spawn) -> None:
    """Ctrl-C once readline is really waiting: a signal that lands while input() is still being set up
    is only noticed at the next key (CPython's readline), a window no person hits but a script can."""
    time.sleep(0.3)
    child.sendintr()


def spawn(env: dict[str, str], *args: str) -> pexpect.spawn:
    full = {k: v for k, v in os.environ.items() if k not in RELAY_VARS}
    full.update(env, TERM="xterm-256color", INPUTRC=os.devnull, PYTHONUNBUFFERED="1")
    child = pexpect.spawn(
        sys.executable, ["-m", "relaycli", "chat", *args], env=full, encoding="utf-8", timeout=15, dimensions=(40, 120)
    )
    return child


def test_a_chat_in_a_terminal(relay_env: dict[str, str]) -> None:
    child = spawn(relay_env, "-p", "mock")
    try:
        child.expect_exact("/help for commands")
        child.expect(prompt("gpt-4.1-mini"))

        child.sendline("hello there")
        child.expect_exact("Mock answer to 1 messages:")
        child.expect(r"gpt-4\.1-mini · 2 in / 40 out tokens · \$0\.0000\d+ · TTFT \d+ ms · \d+ ms")
        child.expect(prompt("gpt-4.1-mini"))

        child.sendline("/model gpt-4.1")
        child.expect_exact("model: gpt-4.1")
        child.expect(prompt("gpt-4.1"))

        child.sendline("/cost")
        child.expect(r"1 turn · 2 in / 40 out tokens · \$0\.0000\d+")
        child.expect_exact(PROMPT)

        child.sendline("/nope")
        child.expect_exact("unknown command /nope")
        child.expect_exact(PROMPT)

        # a long answer, stopped with Ctrl-C: what arrived stays, and we are back at the prompt
        child.sendline("[[mock: words=5000 token_delay=0.004]] tell me a long story")
        child.expect_exact("Mock answer to 3 messages:")
        child.expect(r"\w+ \w+ \w+ \w+ \w+")  # a few more words streamed
        child.sendintr()
        child.expect_exact("interrupted")
        child.expect(prompt("gpt-4.1"))

        # Ctrl-C at an empty prompt asks before leaving
        interrupt_at_prompt(child)
        child.expect_exact("press Ctrl-C again or Ctrl-D to exit")
        child.expect_exact(PROMPT)

        child.sendline("/exit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before

    rows = ledger_rows(relay_env)
    assert [(r["command"], r["outcome"]) for r in rows] == [("chat", "ok"), ("chat", "interrupted")]
    assert rows[1]["model_requested"] == "gpt-4.1"

    # the next session goes on with the same conversation: 2 earlier turns (4 messages) + the new one
    ran = run_relay("chat", "-c", input="and then?\n", env=relay_env)
    assert ran.code == 0, ran.err
    assert ran.out.startswith("Mock answer to 5 messages:")
    assert "continuing conversation 1: 'hello there' (2 turns)" in ran.err


def test_ctrl_d_exits_and_history_survives_the_session(relay_env: dict[str, str]) -> None:
    child = spawn(relay_env, "-p", "mock")
    try:
        child.expect_exact(PROMPT)
        child.sendline("remember this line")
        child.expect_exact("Mock answer to 1 messages:")
        child.expect_exact(PROMPT)
        interrupt_at_prompt(child)  # twice at an empty prompt: leave
        child.expect_exact("press Ctrl-C again")
        child.expect_exact(PROMPT)
        interrupt_at_prompt(child)
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0

    child = spawn(relay_env, "-p", "mock", "--no-store")
    try:
        child.expect_exact(PROMPT)
        child.send("\x1b[A")  # Up: the line from the earlier session
        child.expect_exact("remember this line")
        child.send("\r")
        child.expect_exact("Mock answer to 1 messages:")  # a new conversation
        child.expect_exact(PROMPT)
        child.send('"""\r')  # a message over several lines
        child.send("line one\r")
        child.send('line two"""\r')
        child.expect_exact("Mock answer to 3 messages:")
        child.expect_exact(PROMPT)
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    assert (ledger_rows(relay_env)[-1]["prompt_tokens"]) == 3 + 40 + 4  # "line one\nline two" sent as one
    history = (Path(relay_env["RELAY_HOME"]) / "chat_history").read_text()
    assert "remember this line" in history and "line one" not in history  # --no-store keeps no history either
    assert (Path(relay_env["RELAY_HOME"]) / "chat_history").stat().st_mode & 0o077 == 0


def test_the_plain_banner_says_relay_once(relay_env: dict[str, str]) -> None:
    child = spawn(relay_env, "-p", "mock", "--plain")
    try:
        child.expect_exact("/help for commands")
        assert "relay: chat · mock · " in child.before and "relay: relay chat" not in child.before
        child.expect_exact("gpt-4.1-mini> ")  # the line editor is reading: an EOF sent earlier could be flushed
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
