"""A server that echoes the API key back (in error bodies, HTML titles, stream error events and headers)
must never get it shown or stored: by any command (stream, chat, models, ping, bench, and the commands that
show what was recorded: log, cost, config show), in any output (text, ``--json``, ``-v``, ``--debug``
tracebacks, saved files) or file under RELAY_HOME, with every key source."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import Ran, run_relay

from .loopback import Request, Writer, serve
from .support import write_config

CORE = "LEAKY7c0ffee"
MODES = ("401", "403", "429", "500", "text500", "html401", "html200", "sse", "chat401")
ANTHROPIC_MODES = ("401", "sse")


def _echo(req: Request, out: Writer) -> None:
    key = req.headers.get("x-api-key") or req.headers.get("authorization", "").removeprefix("Bearer ")
    said = f"invalid key {key} ({quote(key, safe='')}, {json.dumps(key)}, {key!r})"
    mode = req.headers.get("x-echo", "401")
    chat = req.method == "POST"
    echo = {"X-Echo-Key": key}

    def send(status: int, ctype: str, body: bytes) -> None:
        out.head(status, {"Content-Type": ctype, "Content-Length": str(len(body)), **echo})
        out.write(body)

    def error_json(status: int) -> None:
        send(status, "application/json", json.dumps({"error": {"message": said, "type": "auth"}}).encode())

    html = f"<html><head><title>Denied {key}</title></head><body>{said}</body></html>".encode()
    if mode in ("401", "403", "429", "500"):
        error_json(int(mode))
    elif mode == "text500":
        send(500, "text/plain", said.encode())
    elif mode in ("html401", "html200"):
        send(int(mode[4:]), "text/html", html)
    elif not chat:  # sse, chat401: the model list works, the chat request does not
        send(200, "application/json", b'{"data": [{"id": "echo-model"}]}')
    elif mode == "chat401":
        error_json(401)
    else:
        event = {"type": "error", "error": {"type": "invalid_request_error", "message": said}}
        send(200, "text/event-stream", b"event: error\ndata: " + json.dumps(event).encode() + b"\n\n")


def _config(url: str, source: str, keyfile: Path) -> tuple[str, dict[str, str], list[str]]:
    key = f"sk-{CORE}-{source}/+="
    keyfile.write_text(key + "\n")
    lines = {
        "env": ['api_key_env = "ECHO_TEST_KEY"'],
        "cmd": [f'api_key_cmd = "cat {keyfile}"'],
        "config": [f'api_key = "{key}"'],
        "config_cr": [f'api_key = "{key}\\r"'],
    }[source]
    blocks, names = [], []
    for protocol, modes in (("openai", MODES), ("anthropic", ANTHROPIC_MODES)):
        for mode in modes:
            name = f"{protocol[0]}{mode}"
            names.append(name)
            base = f"{url}/v1" if protocol == "openai" else url
            blocks.append(
                "\n".join(
                    [
                        f"[profiles.{name}]",
                        f'base_url = "{base}"',
                        f'protocol = "{protocol}"',
                        'default_model = "echo-model"',
                        "retries = 0",
                        *lines,
                        f'headers = {{ "X-Echo" = "{mode}" }}',
                        "",
                    ]
                )
            )
    return "\n".join(blocks), {"ECHO_TEST_KEY": key}, names


def side_by_side(commands: list[tuple[tuple[str, ...], str | None]], env: dict[str, str]) -> list[Ran]:
    """Run the commands two at a time (the machine's two cores), results in the order given."""
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda command: run_relay(*command[0], env=env, input=command[1]), commands))


def _leaks(ran: Ran) -> list[str]:
    return [line for line in (ran.out + ran.err).splitlines() if CORE in line]


@pytest.mark.parametrize("source", ["env", "cmd", "config", "config_cr"])
def test_an_echoed_key_is_never_shown_or_stored(relay_env: dict[str, str], tmp_path: Path, source: str) -> None:
    with serve(_echo) as url:
        text, extra, names = _config(url, source, tmp_path / "key.txt")
        write_config(relay_env, text)
        env = {**relay_env, **extra}
        profiles = [arg for name in names for arg in ("-p", name)]
        failing: list[tuple[tuple[str, ...], str | None]] = [
            (("ping", *profiles), None),
            (("ping", *profiles, "--chat"), None),
            (("ping", *profiles, "--chat", "--json"), None),
            (("bench", *profiles, "-n", "1", "--warmup", "1"), None),
            (
                (
                    "bench",
                    *profiles,
                    "-n",
                    "1",
                    "--warmup",
                    "1",
                    "--json",
                    "--raw",
                    "--save",
                    str(tmp_path / "run.json"),
                ),
                None,
            ),
            (("stream", "-p", "o401", "hi"), None),
            (("stream", "-p", "osse", "--json", "hi"), None),
            (("stream", "-p", "asse", "hi"), None),
            (("stream", "-p", "o401", "--debug", "-v", "hi"), None),
            (("stream", "-p", "ohtml200", "--json", "--debug", "hi"), None),
            (("stream", "-p", "a401", "--json", "hi"), None),
            (("chat", "-p", "osse"), "hi\n"),
            (("chat", "-p", "o401", "--debug"), "hi\n"),
            (("models", "-p", "o403"), None),
            (("models", "-p", "ohtml401", "--json", "--debug"), None),
            (("models", "-p", "a401"), None),
        ]
        showing: list[tuple[tuple[str, ...], str | None]] = [
            (("config", "show"), None),
            (("config", "show", "--json"), None),
            (("log", "-n", "100"), None),
            (("log", "-n", "100", "--json"), None),
            (("cost", "--by", "profile", "--include-bench"), None),
            (("cost", "--json", "--include-bench"), None),
            (("chat", "--list", "--json"), None),
        ]
        if source != "env":
            # Every source resolves to a key that then meets the same scrubbing: the whole matrix runs once
            # (env), the other sources the ping and bench runs and every --debug path.
            failing = failing[:5] + [command for command in failing[5:] if "--debug" in command[0]]
            showing = [command for command in showing if "--json" in command[0]]
        runs = side_by_side(failing, env)
        shown = side_by_side(showing, env)  # after the requests: they show what was recorded
    for ran in runs:
        assert ran.code != 0
        assert _leaks(ran) == [], ran.out + ran.err
    for ran in shown:
        assert ran.code == 0, ran.err
        assert _leaks(ran) == [], ran.out + ran.err
    # the echoing server was reached and judged (a key with a CR is refused before anything is sent)
    assert ("line break" if source == "config_cr" else "HTTP 401") in runs[0].out + runs[0].err
    json.loads(runs[2].out)
    if source != "config_cr":
        json.loads(runs[4].out)
    home = Path(relay_env["RELAY_HOME"])
    saved = [tmp_path / "run.json"] if source != "config_cr" else []  # a key with a CR stops bench before it runs
    stored = [*saved, *(p for p in home.rglob("*") if p.is_file() and p.name != "config.toml")]  # the key's home
    assert any(p.name == "ledger.db" for p in stored)
    for path in stored:
        assert CORE.encode() not in path.read_bytes(), path


def _echo_in_answer(req: Request, out: Writer) -> None:
    """A 200 stream that says the key back inside the answer (split across two events), the model name,
    the response id and the usage object."""
    key = req.headers.get("authorization", "").removeprefix("Bearer ")
    half = len(key) // 2

    def event(data: dict[str, object]) -> bytes:
        return b"data: " + json.dumps(data).encode() + b"\n\n"

    def chunk(content: str) -> dict[str, object]:
        return {"id": f"id-{key}", "model": f"m-{key}", "choices": [{"index": 0, "delta": {"content": content}}]}

    body = (
        event(chunk(f"Your key is {key[:half]}"))
        + event(chunk(f"{key[half:]}, kept safe."))
        + event(
            {"id": f"id-{key}", "model": f"m-{key}", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        )
        + event({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 7, "note": key}})
        + b"data: [DONE]\n\n"
    )
    out.head(200, {"Content-Type": "text/event-stream", "Content-Length": str(len(body))})
    out.write(body)


def test_a_key_said_back_inside_an_answer_is_never_shown_or_stored(relay_env: dict[str, str]) -> None:
    with serve(_echo_in_answer) as url:
        key = f"sk-{CORE}-answer"
        write_config(
            relay_env,
            f'[profiles.echo]\nbase_url = "{url}/v1"\ndefault_model = "m"\napi_key_env = "ECHO_TEST_KEY"\n',
        )
        env = {**relay_env, "ECHO_TEST_KEY": key}
        runs = [
            run_relay("stream", "-p", "echo", "hi", env=env),  # asks, stores
            run_relay("stream", "-p", "echo", "--json", "-v", "hi", env=env),  # answered from the cache
            run_relay("stream", "-p", "echo", "--no-cache", "--json", "hello", env=env),
            run_relay("chat", "-p", "echo", env=env, input="hi\n"),
            run_relay("log", "--json", env=env),
            run_relay("cache", "list", "--json", "--show-prompts", env=env),
        ]
    for ran in runs:
        assert ran.code == 0, ran.err
        assert _leaks(ran) == [], ran.out + ran.err
    assert runs[0].out.startswith("Your key is ***, kept safe.")
    assert json.loads(runs[1].out)["cached"] is True
    home = Path(relay_env["RELAY_HOME"])
    stored = [p for p in home.rglob("*") if p.is_file() and p.name != "config.toml"]
    assert {"ledger.db", "cache.db"} <= {p.name for p in stored}
    for path in stored:
        assert CORE.encode() not in path.read_bytes(), path
