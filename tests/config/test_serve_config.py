"""The [serve] table: defaults, keys as hashes or variables (never a key itself), routes to known profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from relaycli.config.loader import load
from relaycli.config.serve import ClientKey, ServeSettings, hash_key
from relaycli.errors import ConfigError

DIGEST = hash_key("k").removeprefix("sha256:")


def _load(tmp_path: Path, text: str) -> ServeSettings:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load(path, {}).serve


def test_defaults_without_a_table(tmp_path: Path) -> None:
    serve = _load(tmp_path, "")
    assert (serve.host, serve.port, serve.max_body, serve.keys, serve.routes) == ("127.0.0.1", 8787, 4_000_000, (), ())


def test_every_setting(tmp_path: Path) -> None:
    serve = _load(
        tmp_path,
        f"""
[serve]
host = "0.0.0.0"
port = 9000
max_body = "1MB"
keys = {{ alice = "sha256:{DIGEST.upper()}", ci = {{ env = "CI_KEY" }} }}

[serve.routes]
"claude-*" = "mock-anthropic"
"gpt-*" = "mock"
""",
    )
    assert (serve.host, serve.port, serve.max_body) == ("0.0.0.0", 9000, 1_000_000)
    assert serve.keys == (ClientKey("alice", sha256=DIGEST), ClientKey("ci", env="CI_KEY"))
    assert serve.routes == (("claude-*", "mock-anthropic"), ("gpt-*", "mock"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[serve]\nport = 70000\n", r"\[serve\] port: expected a port number"),
        ("[serve]\nhost = 3\n", r"\[serve\] host"),
        ('[serve]\nmax_body = "lots"\n', r"\[serve\] max_body"),
        ('[serve]\nkeys = { alice = "sk-plain-key" }\n', r"a key itself is never written in the config"),
        ('[serve]\nkeys = { alice = { file = "x" } }\n', r"expected a string or"),
        ("[serve]\nworkers = 2\n", r"unknown setting; known: host, keys, max_body, port, routes"),
        ('[serve.routes]\n"gpt-*" = "nowhere"\n', r"\[serve.routes\] gpt-\*: expected the name of a profile"),
    ],
)
def test_mistakes_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        _load(tmp_path, text)
    assert "line " in caught.value.message
