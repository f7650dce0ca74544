"""`relay chat` as a script runs it: piped stdin, -c, --conversation, --list, Ctrl-C, start-up cost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import RELAY_VARS, run_relay
from tests.integration.support import ledger_rows


def test_piped_messages_and_slash_commands(relay_env: dict[str, str]) -> None:
    ran = run_relay("chat", "-p", "mock", input="hello\n/cost\n", env=relay_env)
    assert ran.code == 0, ran.err
    answer, cost = ran.out.splitlines()
    assert answer.startswith("Mock answer to 1 messages:") and answer.endswith(".")
    assert cost.startswith("conversation 1: 1 turn · 1 in / 40 out tokens · $0.0000")
    assert "\x1b" not in ran.out + ran.err  # plain
    assert ran.err.startswith("[gpt-4.1-mini · 1 in / 40 out tokens · $0.0000")
    (row,) = ledger_rows(relay_env)
    assert row["command"] == "chat" and row["outcome"] == "ok"

    ran = run_relay("chat", "-c", "-s", "Answer briefly.", input="and more\n", env=relay_env)
    assert ran.code == 0, ran.err
    assert ran.out.startswith("Mock answer to 4 messages:")  # system + the earlier turn + the new message
    assert "continuing conversation 1: 'hello' (1 turn)" in ran.err

    ran = run_relay("chat", "-p", "mock", "--no-store", input="fresh\n", env=relay_env)
    assert ran.out.startswith("Mock answer to 1 messages:")

    ran = run_relay("chat", "--list", env=relay_env)
    assert ran.code == 0, ran.err
    header, line = ran.out.splitlines()
    assert header.split("\t") == ["id", "title", "model", "turns", "cost", "last used (UTC)"]
    assert line.split("\t")[:4] == ["1", "hello", "gpt-4.1-mini", "2"] and line.split("\t")[4].startswith("$0.000")

    ran = run_relay("chat", "--list", "--json", env=relay_env)
    (entry,) = json.loads(ran.out)["conversations"]
    assert entry["id"] == 1 and entry["turns"] == 2

    ran = run_relay("chat", "--json", input="x\n", env=relay_env)
    assert ran.code == 2 and "--json goes with --list" in ran.err

    ran = run_relay("chat", "--conversation", "7", input="x\n", env=relay_env)
    assert ran.code == 2 and "no conversation 7" in ran.err and "relay chat --list" in ran.err


def test_nothing_to_list_or_continue_yet(relay_env: dict[str, str]) -> None:
    ran = run_relay("chat", "--list", env=relay_env)
    assert ran.code == 0 and ran.out == "" and "no conversations yet" in ran.err
    ran = run_relay("chat", "-c", "-p", "mock", input="hi\n", env=relay_env)
    assert ran.code == 0 and "no earlier conversation to continue" in ran.err
    assert ran.out.startswith("Mock answer to 1 messages:")


def test_errors_end_a_piped_chat_with_their_exit_code(relay_env: dict[str, str]) -> None:
    ran = run_relay("chat", "-p", "mock", input="[[mock: fail=401]] hi\nnever sent\n", env=relay_env)
    assert ran.code == 4 and "Traceback" not in ran.err
    ran = run_relay("chat", "-p", "nowhere", input="hi\n", env=relay_env)
    assert ran.code == 3 and "unknown profile 'nowhere'" in ran.err


def test_ctrl_c_ends_a_piped_chat_with_130_and_the_row_is_marked(relay_env: dict[str, str]) -> None:
    env = {k: v for k, v in os.environ.items() if k not in RELAY_VARS}
    env.update(relay_env, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "relaycli", "chat", "-p", "mock"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"[[mock: words=500 token_delay=0.02]] hi\n")
    proc.stdin.flush()
    assert proc.stdout.read(5) == b"Mock "
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert b"Traceback" not in err
    (row,) = ledger_rows(relay_env)
    assert row["outcome"] == "interrupted" and row["command"] == "chat"
    # what arrived is kept in the conversation
    ran = run_relay("chat", "--list", "--json", env=relay_env)
    assert json.loads(ran.out)["conversations"][0]["turns"] == 1


PROBE = """
import json, sys
sys.argv = ["relay", "chat", "--help"]
from relaycli.entry import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def test_chat_help_imports_nothing_heavy(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    assert "--continue" in done.stdout
    modules = set(json.loads(done.stdout.splitlines()[-1]))
    heavy = [
        m
        for m in modules
        if m.split(".")[0] in ("httpx", "sqlite3", "_sqlite3", "readline", "pygments")
        or m.startswith(("rich.live", "rich.markdown", "rich.syntax", "relaycli.chat", "relaycli.ledger"))
    ]
    assert heavy == []
