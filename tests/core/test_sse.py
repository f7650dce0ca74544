"""The SSE decoder against the WHATWG parsing rules, fed in every kind of split."""

from __future__ import annotations

import time

import pytest

from relaycli.core.sse import SSEDecoder, SSEEvent


def feed_all(*chunks: bytes) -> tuple[list[SSEEvent], SSEDecoder]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.close())
    return events, decoder


def bytewise(body: bytes) -> list[bytes]:
    return [body[i : i + 1] for i in range(len(body))]


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"])
def test_each_line_ending(eol: bytes) -> None:
    body = b"event: delta" + eol + b"data: one" + eol + b"data: two" + eol + eol
    events, _ = feed_all(body)
    assert events == [SSEEvent("delta", "one\ntwo")]


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"])
def test_every_split_gives_the_same_events(eol: bytes) -> None:
    body = (b"data: a" + eol + eol + b": ping" + eol + b"data: b" + eol + b"data: c" + eol + eol) * 2
    whole, _ = feed_all(body)
    assert [e.data for e in whole] == ["a", "b\nc", "a", "b\nc"]
    assert feed_all(*bytewise(body))[0] == whole
    for cut in range(len(body) + 1):
        assert feed_all(body[:cut], body[cut:])[0] == whole, cut


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    # "data: x\r" | "\n\r\n": if the CR and LF counted as two line ends, the event would dispatch early
    # and the final CRLF would be a second blank line; either way exactly one event must come out.
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    assert decoder.feed(b"\ndata: y\r") == []
    assert decoder.feed(b"\n\r") == [SSEEvent("message", "x\ny")]
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"data: z\n\n") == [SSEEvent("message", "z")]


def test_cr_alone_at_chunk_end_then_data() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r") == []
    assert decoder.feed(b"\r") == [SSEEvent("message", "x")]
    assert decoder.feed(b"data: y\r\r") == [SSEEvent("message", "y")]


def test_leading_bom_is_stripped_once_even_when_split() -> None:
    body = b"\xef\xbb\xbfdata: hi\n\n"
    assert feed_all(body)[0] == [SSEEvent("message", "hi")]
    assert feed_all(*bytewise(body))[0] == [SSEEvent("message", "hi")]
    # a second BOM is not stripped: it makes the field name "\ufeffdata", an unknown field
    assert feed_all(b"\xef\xbb\xbf\xef\xbb\xbfdata: hi\n\n")[0] == []


def test_comments_are_counted_not_dispatched() -> None:
    events, decoder = feed_all(b": ping\n\n:OPENROUTER PROCESSING\n\ndata: x\n\n")
    assert events == [SSEEvent("message", "x")]
    assert decoder.comments == 2
    assert decoder.last_comment == "OPENROUTER PROCESSING"


def test_exactly_one_space_after_colon_is_stripped() -> None:
    events, _ = feed_all(b"data:no-space\n\ndata:  two spaces\n\ndata:\tTab\n\n")
    assert [e.data for e in events] == ["no-space", " two spaces", "\tTab"]


def test_line_separators_inside_data_are_data() -> None:
    payload = '{"t": "a\u2028b\u0085c\x0cd"}'
    events, _ = feed_all(b"data: " + payload.encode() + b"\n\n")
    assert events[0].data == payload


def test_multibyte_utf8_split_across_chunks() -> None:
    body = "data: héllo 世界 🎉\n\n".encode()
    assert feed_all(*bytewise(body))[0] == [SSEEvent("message", "héllo 世界 🎉")]


def test_blank_line_without_data_dispatches_nothing_and_resets_event_type() -> None:
    events, _ = feed_all(b"event: foo\n\ndata: x\n\n")
    assert events == [SSEEvent("message", "x")]


def test_empty_data_line_dispatches_empty_event() -> None:
    assert feed_all(b"data\n\n")[0] == [SSEEvent("message", "")]
    assert feed_all(b"data:\ndata:\n\n")[0] == [SSEEvent("message", "\n")]


def test_unfinished_event_at_end_is_discarded() -> None:
    events, decoder = feed_all(b"data: complete\n\ndata: partial\n")
    assert events == [SSEEvent("message", "complete")]
    decoder2 = SSEDecoder()
    decoder2.feed(b"data: partial")
    assert decoder2.pending
    assert decoder2.close() == []
    assert not decoder2.pending


def test_retry_only_when_all_ascii_digits() -> None:
    events, decoder = feed_all(
        b"retry: 1500\ndata: a\n\nretry: 15x\ndata: b\n\nretry: \xd9\xa3\ndata: c\n\nretry: -1\ndata: d\n\n"
    )
    assert [e.retry for e in events] == [1500, None, None, None]
    assert decoder.retry == 1500


def test_id_persists_and_null_ids_are_ignored() -> None:
    events, _ = feed_all(b"id: 7\ndata: a\n\ndata: b\n\nid: x\x00y\ndata: c\n\nid\ndata: d\n\n")
    assert [e.id for e in events] == ["7", "7", "7", ""]


def test_unknown_fields_and_field_without_colon() -> None:
    events, _ = feed_all(b"foo: bar\nevent\ndata: x\nwhatever\n\n")
    assert events == [SSEEvent("message", "x")]


def test_linear_time_on_one_huge_line_in_small_chunks() -> None:
    line = b"data: " + b"x" * 1_000_000 + b"\n\n"
    pieces = [line[i : i + 64] for i in range(0, len(line), 64)]
    start = time.perf_counter()
    events, _ = feed_all(*pieces)
    elapsed = time.perf_counter() - start
    assert len(events[0].data) == 1_000_000
    assert elapsed < 2.0  # quadratic rescanning would take far longer


def test_many_events_in_one_chunk() -> None:
    body = b"".join(b"data: %d\n\n" % i for i in range(20_000))
    events, _ = feed_all(body)
    assert [e.data for e in events[:3]] == ["0", "1", "2"]
    assert len(events) == 20_000
