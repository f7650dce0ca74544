"""The one scrubbing function: a key is removed in every form an endpoint or a library can echo it in."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import pytest

from relaycli.core.formats.common import Peer
from relaycli.core.scrub import scrub, scrub_error
from relaycli.errors import AuthError

KEY = 'sk-Test/+="Key\r'


def test_every_escaped_form_is_removed() -> None:
    forms = [
        KEY,
        KEY.strip(),
        repr(KEY),
        repr(KEY.encode()),
        json.dumps(KEY),
        quote(KEY, safe=""),
        quote_plus(KEY),
        f"Illegal header value b'Bearer {KEY}'".encode().decode("unicode_escape"),
    ]
    for form in forms:
        assert "Test/" not in scrub(f"said: {form}", KEY).replace("%2F", "/"), form
    assert scrub("Illegal header value b'Bearer sk-Test/+=\"Key\\r'", KEY) == "Illegal header value b'Bearer ***'"


def test_short_or_missing_keys_change_nothing() -> None:
    assert scrub("abc abc", "abc") == "abc abc"
    assert scrub("text", None) == "text"


def test_errors_are_scrubbed_in_place_and_quoted_text_before_it_is_shortened() -> None:
    error = scrub_error(AuthError(f"no: {KEY}", hint=f"key {KEY}"), KEY)
    assert "Test" not in error.message and "Test" not in str(error.args) and "Test" not in (error.hint or "")
    long_key = "sk-" + "x" * 200
    assert "xxx" not in Peer("h", "p", long_key).said(f"bad key {long_key}", 40)


def test_the_error_boundary_scrubs_every_key_in_use_from_a_debug_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    from relaycli.core.scrub import remember
    from relaycli.entry import print_traceback, report
    from relaycli.errors import RelayError

    secret = "sk-boundary-5150-\r"
    remember(secret)
    try:
        try:
            raise ValueError(f"Illegal header value {('Bearer ' + secret).encode()!r}")
        except ValueError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError:
        print_traceback()
    report(RelayError(f"a library said {secret.strip()}"))
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "Illegal header value" in err
    assert "sk-boundary-5150" not in err
