"""The SSE decoder's output never depends on where the byte stream is split (mixed line endings included)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from relaycli.core.sse import SSEDecoder, SSEEvent

_EOL = st.sampled_from([b"\n", b"\r", b"\r\n"])
_TEXT = st.text(alphabet=st.sampled_from('ab: \u2028é{}"1'), max_size=6).map(lambda s: s.encode())
_LINE = st.one_of(
    st.tuples(st.sampled_from([b"data: ", b"data:", b"event: ", b": ", b"id: ", b"retry: ", b"x: "]), _TEXT).map(
        b"".join
    ),
    st.just(b""),
)


def _decode(chunks: list[bytes]) -> tuple[list[SSEEvent], SSEEvent | None]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    return events, decoder.unfinished()


@st.composite
def _streams(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    lines = draw(st.lists(st.tuples(_LINE, _EOL), max_size=14))
    bom = draw(st.sampled_from([b"", b"\xef\xbb\xbf"]))
    body = bom + b"".join(line + eol for line, eol in lines) + draw(_TEXT)
    cut_here = draw(st.lists(st.booleans(), min_size=len(body), max_size=len(body)))
    cuts = [i for i, cut in enumerate(cut_here) if cut]
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    return body, pieces


def test_crlf_then_lf_in_the_next_chunk_is_two_line_ends() -> None:
    assert _decode([b"data: a\r\n", b"\ndata: b\n\n"])[0] == [SSEEvent("message", "a"), SSEEvent("message", "b")]
    assert _decode([b"data: a\r\n\ndata: b\n\n"])[0] == [SSEEvent("message", "a"), SSEEvent("message", "b")]


def test_cr_then_lf_in_the_next_chunk_is_one_line_end() -> None:
    assert _decode([b"data: a\r", b"\ndata: b\n\n"])[0] == [SSEEvent("message", "a\nb")]


@settings(max_examples=400, deadline=None)
@given(_streams())
def test_events_do_not_depend_on_the_split(stream: tuple[bytes, list[bytes]]) -> None:
    body, pieces = stream
    assert _decode(pieces) == _decode([body])
    assert _decode([body[i : i + 1] for i in range(len(body))]) == _decode([body])
