"""`relay stream` against a server whose line ends arrive split across TCP writes."""

from __future__ import annotations

import json
import time

from tests.conftest import run_relay

from .loopback import Request, Writer, serve
from .support import write_config


def _chunk(text: str | None = None, finish: str | None = None) -> bytes:
    delta = {"content": text} if text else {}
    body = {"id": "c1", "model": "split-model", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return json.dumps(body).encode()


def _split_line_ends(req: Request, out: Writer) -> None:
    out.head(200, {"Content-Type": "text/event-stream"})
    for part in (
        b"data: " + _chunk("Hello, ") + b"\r\n",
        b"\ndata: " + _chunk("world") + b"\r\n",  # the blank line's LF comes in a write of its own
        b"\n",
        b"data: " + _chunk(finish="stop") + b"\r\n",
        b"\r\ndata: [DONE]\r\n",
        b"\n",
    ):
        out.write(part)
        time.sleep(0.03)


def test_crlf_and_the_next_lf_in_separate_writes(relay_env: dict[str, str]) -> None:
    with serve(_split_line_ends) as url:
        write_config(
            relay_env,
            f'[profiles.split]\nbase_url = "{url}/v1"\napi_key = "sk-split-1"\n'
            'default_model = "split-model"\nretries = 0\n',
        )
        ran = run_relay("stream", "-p", "split", "hi", env=relay_env)
    assert ran.code == 0, ran.err
    assert ran.out == "Hello, world\n"
