"""Bad config input is a configuration error (exit 3) naming the file, never an internal error."""

from __future__ import annotations

from pathlib import Path

import pytest

from relaycli.config import loader
from relaycli.config.loader import resolve_key
from relaycli.errors import ConfigError
from tests.conftest import run_relay
from tests.integration.support import write_config

BASE = '[profiles.a]\nbase_url = "http://127.0.0.1:9/v1"\n'


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def _fails(tmp_path: Path, text: str) -> str:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        loader.load(path, {})
    assert str(path) in str(info.value)
    return str(info.value)


@pytest.mark.parametrize(
    "body, words",
    [
        ('[prices."m"]\ninput = 1e308\noutput = 1\n', "input"),
        ('[prices."m"]\ninput = -1\noutput = 1\n', "input"),
        ('[prices."m"]\ninput = nan\noutput = 1\n', "input"),
        ('[prices."m"]\ninput = 1\noutput = inf\n', "output"),
        ('[prices."m"]\ninput = 1\n', "output"),
        ('[prices."m"]\ninput = 1\noutput = 2\ncontext_window = 0\n', "context_window"),
        (BASE + "timeout = { read = inf }\n", "timeout"),
        (BASE + "timeout = { total = nan }\n", "timeout"),
        (BASE + "budget = inf\n", "budget"),
        (BASE + 'headers = { "X-A" = "a\\r\\nX-Injected: 1" }\n', "line break"),
        (BASE + 'headers = { "X-A" = "a\\n" }\n', "line break"),
        (BASE + 'headers = { "Bad Name" = "a" }\n', "header name"),
        (BASE + 'headers = { "X-A:" = "a" }\n', "header name"),
        (BASE + 'api_key = "sk-a\\nsk-b"\n', "line break"),
        (BASE + 'api_key = "\u201csk-quoted-123456\u201d"\n', "non-ASCII"),
        (BASE + 'headers = { "X-A" = "caf\u00e9" }\n', "ASCII"),
        ('[profiles.a]\nbase_url = "http://[::1/v1"\n', "base_url"),
        ('[profiles.a]\nbase_url = "http://x:abc/v1"\n', "base_url"),
        ('[profiles.a]\nbase_url = "http://x:99999/v1"\n', "base_url"),
        ('[profiles.a]\nbase_url = "http://x/v 1"\n', "base_url"),
    ],
)
def test_bad_values_name_file_and_line(tmp_path: Path, body: str, words: str) -> None:
    message = _fails(tmp_path, body)
    assert words in message and ", line " in message


def test_half_price_table_names_the_missing_key(tmp_path: Path) -> None:
    message = _fails(tmp_path, 'default_profile = "mock"\n\n[prices."m"]\ninput = 1\n')
    assert "line 3, column 1: [prices.m] output: missing" in message


def test_deep_nesting_is_a_config_error(tmp_path: Path) -> None:
    message = _fails(tmp_path, "a = " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested too deeply" in message


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xef\xbb\xbf" + b'default_profile = "a"\n' + BASE.encode())
    settings = loader.load(path, {})
    assert settings.default_profile == "a" and settings.line_of("", "default_profile") == 1


def test_literal_key_is_stripped_with_a_note(tmp_path: Path) -> None:
    path = _write(tmp_path, BASE + 'api_key = "sk-literal-123456\\r\\n"\n')
    settings = loader.load(path, {})
    assert settings.profiles["a"].api_key == "sk-literal-123456"
    assert any("whitespace" in w and "sk-literal" not in w for w in settings.warnings)


def test_env_and_command_keys_are_stripped_with_a_note(tmp_path: Path) -> None:
    script = tmp_path / "key.sh"
    script.write_text("printf ' sk-cmd-123456\\r\\n'\n")
    path = _write(
        tmp_path, BASE + f'api_key_env = "K"\n[profiles.c]\nbase_url = "http://x"\napi_key_cmd = "sh {script}"\n'
    )
    settings = loader.load(path, {})
    key = resolve_key(settings.profiles["a"], {"K": "sk-env-123456\r\n"})
    assert key.value == "sk-env-123456" and key.note and "sk-env" not in key.note
    key = resolve_key(settings.profiles["c"], {})
    assert key.value == "sk-cmd-123456" and key.note and "sk-cmd" not in key.note
    assert resolve_key(settings.profiles["a"], {"K": "\u00a0sk-env-123456\u200b"}).value == "sk-env-123456"
    with pytest.raises(ConfigError, match="non-ASCII"):
        resolve_key(settings.profiles["a"], {"K": "sk-env-\u2019123456"})
    clean = resolve_key(settings.profiles["a"], {"K": "sk-env-123456"})
    assert clean.note is None


CLI_CASES = [
    "a = " + "{b = " * 5000 + "1" + "}" * 5000 + "\n",
    '[prices."gpt-4.1-mini"]\ninput = 1e308\noutput = 1e308\n',
    '[prices."gpt-4.1-mini"]\ninput = 1\n',
    '[profiles.mock]\nheaders = { "X-A" = "a\\r\\nb" }\n',
    '[profiles.mock]\nheaders = { "Bad Name" = "a" }\n',
    "[profiles.mock]\ntimeout = { read = inf }\n",
    "[profiles.mock]\ntimeout = { total = nan }\n",
]


@pytest.mark.parametrize(
    "text", CLI_CASES, ids=["deep", "huge-price", "half-price", "header-crlf", "header-name", "read-inf", "total-nan"]
)
def test_cli_exits_3_naming_the_file(relay_env: dict[str, str], text: str) -> None:
    path = write_config(relay_env, text)
    ran = run_relay("stream", "-p", "mock", "hi", env=relay_env)
    assert ran.code == 3, ran.err
    assert str(path) in ran.err and "internal error" not in ran.err


def test_cli_accepts_a_bom_and_a_pasted_key(relay_env: dict[str, str]) -> None:
    path = Path(relay_env["RELAY_HOME"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xef\xbb\xbf" + b'[profiles.mock]\napi_key = "sk-pasted-123456\\r\\n"\n')
    path.chmod(0o600)
    ran = run_relay("stream", "-p", "mock", "hi", env=relay_env)
    assert ran.code == 0, ran.err
    assert ran.err.count("whitespace") == 1 and "sk-pasted" not in ran.err


def test_cli_strips_an_env_key_once(relay_env: dict[str, str]) -> None:
    write_config(relay_env, '[profiles.mock]\napi_key_env = "MOCK_KEY"\n')
    ran = run_relay("stream", "-p", "mock", "hi", env={**relay_env, "MOCK_KEY": "sk-env-123456\r"})
    assert ran.code == 0, ran.err
    assert ran.err.count("whitespace") == 1 and "sk-env" not in ran.err


def test_a_profile_without_base_url_says_so(isolated: Path) -> None:
    from tests.conftest import run_relay

    ran = run_relay("config", "set", "profiles.relay.retries", "3")  # no config file yet
    assert ran.code == 3 and "has no base_url" in ran.err, ran.err
