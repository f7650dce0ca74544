"""Prompts, target labels and request bytes; the histogram, CSV and progress line, without sockets."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from relaycli.bench.report import ProgressLine, text_histogram
from relaycli.bench.runner import Progress
from relaycli.bench.setup import BUILTIN_PROMPTS, Prompt, Target, read_prompts, request_bytes, resolve_targets
from relaycli.config.profile import Profile, ResolvedKey
from relaycli.context import AppContext
from relaycli.datatypes import Message
from relaycli.errors import UsageError


def test_prompts_from_flags_file_or_the_built_in_set(tmp_path: Path) -> None:
    assert [p.messages[0].content for p in read_prompts(["a", "b"], None)] == ["a", "b"]
    assert len(read_prompts([], None)) == len(BUILTIN_PROMPTS)
    path = tmp_path / "prompts.jsonl"
    path.write_text(
        'plain text\n\n{"prompt": "as json", "system": "be brief"}\n'
        '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"},'
        ' {"role": "user", "content": "again"}]}\n'
    )
    prompts = read_prompts([], path)
    assert prompts[0] == Prompt((Message("user", "plain text"),))
    assert prompts[1] == Prompt((Message("user", "as json"),), "be brief")
    assert [m.role for m in prompts[2].messages] == ["user", "assistant", "user"]
    path.write_text('ok\n{"nope": 1}\n')
    with pytest.raises(UsageError, match="line 2"):
        read_prompts([], path)
    path.write_text("\n\n")
    with pytest.raises(UsageError, match="no prompts"):
        read_prompts([], path)


def test_target_labels() -> None:
    ctx = AppContext(env={"RELAY_HOME": "/nonexistent-relay-home"})
    services = ctx.measure_services()
    assert [t.label for t in resolve_targets(services, ["mock", "mock-anthropic"], [], [])] == [
        "mock",
        "mock-anthropic",
    ]
    assert [t.label for t in resolve_targets(services, ["mock"], ["fast", "smart"], [])] == ["fast", "smart"]
    both = resolve_targets(ctx.measure_services(), ["mock", "mock-anthropic"], ["gpt-4.1", "x"], [])
    assert [t.label for t in both] == ["mock:gpt-4.1", "mock:x", "mock-anthropic:gpt-4.1", "mock-anthropic:x"]
    assert resolve_targets(services, [], [], ["mock:fast"])[0].wire_model == "gpt-4.1-mini"  # alias resolved
    with pytest.raises(UsageError, match="given twice"):
        resolve_targets(ctx.measure_services(), [], [], ["mock:a", "mock:a"])


def test_request_bytes_are_what_relay_stream_sends() -> None:
    profile = Profile(name="p", base_url="http://h:9/v1", headers={"X-Team": "t"})
    raw = request_bytes(
        Target(profile, "m", "m", ResolvedKey("sk-1", "env K"), "p"),
        Prompt((Message("user", "hi"),), "sys"),
        max_tokens=5,
    )
    head, body = raw.split(b"\r\n\r\n", 1)
    assert head.startswith(b"POST /v1/chat/completions HTTP/1.1\r\nHost: h:9\r\n")
    assert b"Authorization: Bearer sk-1" in head and b"X-Team: t" in head and b"Accept: text/event-stream" in head
    assert json.loads(body) == {
        "model": "m",
        "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}],
        "stream": True,
        "max_tokens": 5,
        "stream_options": {"include_usage": True},
    }


def test_histogram_bins_and_overflow() -> None:
    lines = text_histogram([float(v) for v in range(1, 201)], bins=4, width=10)
    assert len(lines) == 5 and lines[-1].lstrip().startswith(">")  # values past the p99 on the last line
    assert sum(int(line.split()[-1]) for line in lines) == 200
    assert text_histogram([]) == []
    same = text_histogram([5.0, 5.0])  # all equal: one full bar, the other bins empty
    assert same[0].endswith("#" * 40 + " 2") and all(line.endswith(" 0") for line in same[1:])


def test_progress_line_only_on_a_terminal() -> None:
    out = io.StringIO()
    line = ProgressLine(out, enabled=True)
    line(Progress(["a", "b"], [3, 4], [0, 1], 10, 2.0, 2, [10.0, 20.0, 30.0]))
    line.close()
    text = out.getvalue()
    assert "a 3/10 | b 4/10 (1 err)" in text and "3.5 req/s" in text and "latency p50 20.0 ms" in text
    assert text.endswith("\r\033[K")
    quiet = io.StringIO()
    ProgressLine(quiet, enabled=False)(Progress(["a"], [1], [0], None, 1.0, 0, []))
    assert quiet.getvalue() == ""
