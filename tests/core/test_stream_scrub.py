"""``StreamScrub``: a key said back inside an answer is removed however the answer is cut into pieces, and
text that only looks like the key's beginning is passed on once it is clear it is not."""

from __future__ import annotations

import pytest

from relaycli.core.scrub import MASK, StreamScrub, scrub_value

KEY = "sk-live-0123456789abcdef"
TEXT = f"Your key is {KEY}. Keep it; sk- is how keys start. {KEY}"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 11, len(TEXT)])
def test_the_key_is_removed_whatever_the_pieces(size: int) -> None:
    scrub = StreamScrub(KEY)
    pieces = [TEXT[i : i + size] for i in range(0, len(TEXT), size)]
    out = [scrub.feed(piece) for piece in pieces] + [scrub.flush()]
    assert "".join(out) == TEXT.replace(KEY, MASK)
    assert all(KEY[:8] not in piece for piece in out)


def test_text_is_held_back_only_while_it_could_be_the_key() -> None:
    scrub = StreamScrub(KEY)
    assert scrub.feed("plain words ") == "plain words "
    assert scrub.feed("then sk") == "then "  # may be the key's start
    assert scrub.feed("y blue") == "sky blue"  # it was not
    assert scrub.flush() == ""


def test_kinds_are_held_apart_and_reset_forgets() -> None:
    scrub = StreamScrub(KEY)
    assert scrub.feed("think sk-", "reasoning") == "think "
    assert scrub.feed("say sk-l", "text") == "say "
    assert scrub.feed("ive-0123456789abcdef!", "text") == f"{MASK}!"
    assert scrub.flush("reasoning") == "sk-"
    scrub.feed("sk-live", "text")
    scrub.reset()
    assert scrub.flush("text") == ""


def test_no_key_passes_everything() -> None:
    scrub = StreamScrub(None)
    assert scrub.feed("sk-") == "sk-" and scrub.flush() == ""


def test_values_lose_the_key_in_keys_and_strings() -> None:
    value = {"note": f"key {KEY}", KEY: [1, f"{KEY}"], "n": 3}
    assert scrub_value(value, KEY) == {"note": f"key {MASK}", MASK: [1, MASK], "n": 3}
