"""A stream that breaks before anything of it was shown is retried: the fault matrix against the local relay
on a real loopback socket, the ``restart`` delta that voids what a failed attempt yielded, and the cases
that must not retry (something shown; a non-streaming read that broke off after the request was sent)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from relaycli.config.profile import ResolvedKey, Timeouts
from relaycli.core.client import RelayClient, RetryNotice
from relaycli.datatypes import ChatRequest, Delta, Message, Result
from relaycli.errors import NetworkError, TruncatedResponse

from .support import profile

FAULTS = ("stop_after", "malformed_after", "error_after", "stall_after", "reset_after")
POSITIONS = (0, 1, 3, 5)
_seeds = itertools.count(70_000)


def _client(
    mock_server: object, *, protocol: str = "openai", retries: int = 2
) -> tuple[RelayClient, list[RetryNotice]]:
    base = mock_server.url  # type: ignore[attr-defined]
    notices: list[RetryNotice] = []
    prof = profile(
        protocol,
        base_url=base + ("/v1" if protocol == "openai" else ""),
        retries=retries,
        timeout=Timeouts(connect=2, read=0.25, total=20),
    )
    client = RelayClient(
        prof, ResolvedKey(None, "none"), quirks={}, sleep=lambda s: None, on_retry=notices.append, env={}
    )
    return client, notices


def _request(directives: str, *, protocol: str = "openai", stream: bool = True) -> ChatRequest:
    model = "gpt-4.1-mini" if protocol == "openai" else "claude-haiku-4-5"
    return ChatRequest(
        model=model, messages=(Message("user", f"[[mock: {directives}]] hi"),), stream=stream, max_tokens=200
    )


def _run(client: RelayClient, req: ChatRequest, shown: Callable[[], bool] | None) -> tuple[list[Delta], Result]:
    deltas: list[Delta] = []
    with client.stream(req, shown=shown) as stream:
        for delta in stream:
            deltas.append(delta)
        return deltas, stream.result()


def _after_last_restart(deltas: list[Delta]) -> str:
    kinds = [d.kind for d in deltas]
    start = len(kinds) - kinds[::-1].index("restart") if "restart" in kinds else 0
    return "".join(d.text for d in deltas[start:] if d.kind == "text")


@pytest.mark.parametrize("protocol", ["openai", "anthropic"])
def test_every_fault_before_anything_was_shown_is_retried(mock_server: object, protocol: str) -> None:
    """--json: nothing is shown while the answer arrives, so each fault, wherever it strikes, is retried
    and the answer is the complete one, exactly once."""
    client, notices = _client(mock_server, protocol=protocol)
    failed: list[str] = []
    with client:
        for fault, at in itertools.product(FAULTS, POSITIONS):
            directives = f"{fault}={at} fail_times=1 seed={next(_seeds)}"
            req = _request(directives, protocol=protocol)
            before = len(notices)
            deltas, result = _run(client, req, shown=lambda: False)
            whole = client.complete(req)  # the same request again: the fault is spent, the answer the same
            kinds = [d.kind for d in deltas]
            voided = kinds[: kinds.index("restart")] if "restart" in kinds else []
            ok = (
                result.complete
                and result.retries == 1
                and len(notices) == before + 1
                and result.text == whole.text == _after_last_restart(deltas)
                and whole.text.endswith(".")
                # what a failed attempt yielded was voided by a restart (a reset may beat the last bytes)
                and ("text" in voided) in ((at > 0,) if fault != "reset_after" else (True, False))
            )
            if not ok:
                failed.append(directives)
    assert failed == []


def test_text_shown_is_never_retried_but_reasoning_is_not_shown(mock_server: object) -> None:
    client, notices = _client(mock_server)
    shown_text: list[str] = []

    def shown() -> bool:
        return bool(shown_text)

    def consume(req: ChatRequest) -> Result:
        shown_text.clear()
        with client.stream(req, shown=shown) as stream:
            try:
                for delta in stream:
                    if delta.kind == "restart":
                        shown_text.clear()  # nothing of it reached the user anyway
                    elif delta.kind == "text":
                        shown_text.append(delta.text)
            finally:
                result = stream.result()
        return result

    with client:
        seed = next(_seeds)
        with pytest.raises(TruncatedResponse, match="broke off after 14 characters"):
            consume(_request(f"stop_after=3 fail_times=1 seed={seed}"))
        assert notices == [] and "".join(shown_text) == "Mock answer to"
        for fault in FAULTS:
            seed = next(_seeds)
            result = consume(_request(f"reasoning=3 {fault}=0 fail_times=1 seed={seed}"))
            assert result.complete and result.retries == 1 and "".join(shown_text) == result.text
            assert result.text.startswith("Mock answer to 1 messages:")


def test_without_shown_whatever_was_yielded_counts_as_shown(mock_server: object) -> None:
    client, notices = _client(mock_server)
    with client, pytest.raises(TruncatedResponse):
        _run(client, _request(f"reasoning=2 stop_after=0 fail_times=1 seed={next(_seeds)}"), shown=None)
    assert notices == []


def test_retries_run_out_with_the_last_attempts_partial_text(mock_server: object) -> None:
    client, notices = _client(mock_server)
    with client:
        stream = client.stream(_request(f"stop_after=3 fail_times=9 seed={next(_seeds)}"), shown=lambda: False)
        deltas: list[Delta] = []
        with pytest.raises(TruncatedResponse) as info:
            for delta in stream:
                deltas.append(delta)
        result = stream.result()
    assert result.retries == 2 and len(notices) == 2 and [d.kind for d in deltas].count("restart") == 2
    assert result.text == "Mock answer to" == _after_last_restart(deltas) and not result.complete
    assert info.value.exit_code == 5


def test_a_stream_cut_before_any_content_is_a_truncation(mock_server: object) -> None:
    client, _ = _client(mock_server, retries=0)
    with client, pytest.raises(TruncatedResponse, match="broke off before any content") as info:
        client.complete(_request(f"stop_after=0 seed={next(_seeds)}"))
    assert info.value.exit_code == 5 and "(incomplete chunked read)" in info.value.message


def test_a_connection_closed_before_any_response_byte_is_a_network_error() -> None:
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[int] = []

    def serve() -> None:
        for _ in range(3):
            conn, _ = listener.accept()
            conn.recv(65536)
            accepted.append(1)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    prof = profile(base_url=f"http://127.0.0.1:{listener.getsockname()[1]}/v1", retries=2)
    notices: list[RetryNotice] = []
    with (
        RelayClient(
            prof, ResolvedKey(None, "none"), quirks={}, sleep=lambda s: None, on_retry=notices.append, env={}
        ) as client,
        pytest.raises(NetworkError, match="closed or reset") as info,
    ):
        client.complete(ChatRequest(model="m", messages=(Message("user", "hi"),)))
    listener.close()
    assert info.value.exit_code == 7 and len(notices) == 2


def test_a_non_streaming_answer_that_broke_off_is_not_retried(mock_server: object) -> None:
    client, notices = _client(mock_server)
    with client, pytest.raises(TruncatedResponse, match="broke off"):
        client.complete(_request(f"stop_after=3 fail_times=1 seed={next(_seeds)}", stream=False))
    assert notices == []  # the server may have done (and billed) the work
