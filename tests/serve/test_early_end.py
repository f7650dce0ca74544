"""A gateway answer goes to its client the moment the upstream's answer ended well; its ledger row is
written after (off the client's clock), and a failure after it changes nothing the client was sent."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest

from relaycli.context import AppContext
from relaycli.serve.chat import ChatService
from relaycli.serve.exchange import Exchange
from relaycli.serve.routing import Routes


def _service(env: dict[str, str]) -> tuple[AppContext, ChatService, list[str]]:
    ctx = AppContext(env=env, stdin=io.StringIO(), stdout=io.StringIO(), stderr=io.StringIO())
    ctx.share_clients = ctx.on_loop = ctx.defer_ledger = True  # as relay serve builds it
    settings = ctx.settings
    chat = ChatService(ctx.pipeline, Routes((), settings.profiles, ctx.profile("mock")), ctx.notes)
    order: list[str] = []
    record = ctx.pipeline.recorder.record

    def recorded(**row: Any) -> Any:
        order.append(f"row {row['outcome']}")
        return record(**row)

    ctx.pipeline.recorder.record = recorded  # type: ignore[method-assign]
    return ctx, chat, order


def _ask(chat: ChatService, order: list[str], body: dict[str, Any], ex: Exchange) -> bytes:
    sent: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            sent.append(message.get("body", b""))
            if not message.get("more_body"):
                order.append("end")

    async def main() -> None:
        disconnected = asyncio.get_running_loop().create_future()
        reply = await chat.answer("openai", body, {}, ex, send, disconnected)
        assert reply is None  # sent by the service itself

    asyncio.run(main())
    return b"".join(sent)


@pytest.mark.parametrize("stream", [True, False])
def test_the_answer_ends_before_its_row_is_written(relay_env: dict[str, str], stream: bool) -> None:
    ctx, chat, order = _service(relay_env)
    ex = Exchange(method="POST", path="/v1/chat/completions")
    body = {"model": "gpt-4.1-mini", "stream": stream, "messages": [{"role": "user", "content": f"early {stream}"}]}
    try:
        out = _ask(chat, order, body, ex)
    finally:
        ctx.close()
    assert order == ["end", "row ok"]
    assert ex.status == 200 and ex.tokens_out is not None and ex.cost_usd is not None  # accounted all the same
    if stream:
        assert out.endswith(b"data: [DONE]\n\n")
    else:
        assert json.loads(out)["choices"][0]["finish_reason"] == "stop"


def test_a_failure_after_a_whole_answer_was_sent_sends_nothing_more(relay_env: dict[str, str]) -> None:
    ctx, chat, order = _service(relay_env)
    store = ctx.pipeline.cache.store

    def failing(*args: Any, **kwargs: Any) -> None:
        store(*args, **kwargs)
        raise OSError("No space left on device")

    ctx.pipeline.cache.store = failing  # type: ignore[method-assign]
    ex = Exchange(method="POST", path="/v1/chat/completions")
    body = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "then the disk filled up"}]}
    try:
        out = _ask(chat, order, body, ex)
    finally:
        ctx.close()
    assert order == ["end", "row ok"]
    assert json.loads(out)["choices"][0]["message"]["content"]  # the answer, not an error body
    assert ex.status == 200 and ex.error is not None  # the access log says what failed after it
