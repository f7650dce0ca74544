from __future__ import annotations

import os
import stat
from decimal import Decimal
from pathlib import Path

import pytest

from relaycli.config import edit as config_edit
from relaycli.config import loader as config
from relaycli.errors import ConfigError, ExitCode, MissingKey, ProfileNotFound
from relaycli.paths import resolve

GOOD = """\
default_profile = "holysheep"

[profiles.holysheep]
base_url = "https://relay.example.com/v1/"
protocol = "openai"
api_key_env = "HOLYSHEEP_API_KEY"
default_model = "gpt-4.1"
headers = { "X-Team" = "search" }
timeout = { connect = 2, read = 30 }
retries = 3
billing = { currency = "cny", per_usd = 1.0 }
compare_to = { currency = "CNY", per_usd = 7.3 }
fallback = ["direct"]

[profiles.holysheep.aliases]
"claude-sonnet-4.5" = "claude-sonnet-4-20250514"

[profiles.direct]
base_url = "https://api.anthropic.com"
protocol = "anthropic"
api_key_env = "ANTHROPIC_API_KEY"
billing = { currency = "CNY", per_usd = 7.3 }

[prices."gpt-4.1"]
input = 2.50
output = 8.00
cached_input = 0.50
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_full_profile_is_typed(tmp_path: Path) -> None:
    settings = config.load(write(tmp_path, GOOD), {})
    p = settings.profiles["holysheep"]
    assert p.base_url == "https://relay.example.com/v1"
    assert p.timeout.connect == 2 and p.timeout.read == 30 and p.timeout.total == 600
    assert p.retries == 3
    assert p.billing.currency == "CNY" and p.billing.per_usd == Decimal("1.0")
    assert p.compare_to is not None and p.compare_to.per_usd == Decimal("7.3")
    assert p.fallback == ("direct",)
    assert p.headers == {"X-Team": "search"}
    assert p.resolve_model("claude-sonnet-4.5") == "claude-sonnet-4-20250514"
    assert p.resolve_model("gpt-4.1") == "gpt-4.1"
    assert settings.profiles["direct"].protocol == "anthropic"
    assert settings.prices["gpt-4.1"]["cached_input"] == 0.5
    assert "mock" in settings.profiles and "mock" in settings.builtin


def test_malformed_toml_names_file_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, 'default_profile = "x"\n[profiles.a]\nbase_url = "http://x\n')
    with pytest.raises(ConfigError) as info:
        config.load(path, {})
    message = str(info.value)
    assert str(path) in message
    assert "line 3, column" in message
    assert info.value.exit_code == ExitCode.CONFIG


def test_bad_value_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[profiles.a]\nbase_url = "http://x"\nprotocol = "grpc"\n')
    with pytest.raises(ConfigError) as info:
        config.load(path, {})
    assert f"{path}, line 3, column 1" in str(info.value)
    assert "protocol" in str(info.value) and "openai" in str(info.value)


@pytest.mark.parametrize(
    "body, words",
    [
        ('[profiles.a]\nbase_url = "ftp://x"\n', "base_url"),
        ('[profiles.a]\nbase_url = "http://x"\nretries = "many"\n', "retries"),
        ('[profiles.a]\nbase_url = "http://x"\ntimeout = { read = -1 }\n', "timeout"),
        ('[profiles.a]\nbase_url = "http://x"\nbilling = { currency = "yuan" }\n', "currency"),
        ('[profiles.a]\nbase_url = "http://x"\nfallback = ["nope"]\n', "nope"),
        ('[profiles.a]\nbase_url = "http://x"\nbase_ulr = "typo"\n', "base_ulr"),
        ('colour = "blue"\n', "colour"),
    ],
)
def test_invalid_settings_are_config_errors(tmp_path: Path, body: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        config.load(write(tmp_path, body), {})
    assert words in str(info.value)


def test_profile_precedence_flag_env_file(tmp_path: Path) -> None:
    settings = config.load(write(tmp_path, GOOD), {})
    assert config.select_profile(settings, None, {}).name == "holysheep"
    assert config.select_profile(settings, None, {"RELAY_PROFILE": "direct"}).name == "direct"
    assert config.select_profile(settings, "mock", {"RELAY_PROFILE": "direct"}).name == "mock"


def test_unknown_profile_lists_known_ones(tmp_path: Path) -> None:
    settings = config.load(write(tmp_path, GOOD), {})
    with pytest.raises(ProfileNotFound) as info:
        config.select_profile(settings, "nope", {})
    assert "direct" in str(info.value) and "holysheep" in str(info.value) and "mock" in str(info.value)
    assert info.value.exit_code == ExitCode.CONFIG


def test_no_profile_chosen_without_file(tmp_path: Path) -> None:
    settings = config.load(tmp_path / "missing.toml", {})
    assert not settings.exists
    with pytest.raises(ConfigError):
        config.select_profile(settings, None, {})


def test_key_sources(tmp_path: Path) -> None:
    settings = config.load(write(tmp_path, GOOD), {})
    p = settings.profiles["holysheep"]
    key = config.resolve_key(p, {"HOLYSHEEP_API_KEY": "sk-secret"})
    assert key.value == "sk-secret" and key.source == "env HOLYSHEEP_API_KEY"
    with pytest.raises(MissingKey) as info:
        config.resolve_key(p, {})
    assert "HOLYSHEEP_API_KEY" in str(info.value)
    assert config.resolve_key(settings.profiles["mock"], {}).value is None


def test_key_command(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[profiles.a]\nbase_url = "http://x"\napi_key_cmd = "echo sk-from-cmd"\n'
        '[profiles.b]\nbase_url = "http://x"\napi_key_cmd = "exit 3"\n',
    )
    settings = config.load(path, {})
    assert config.resolve_key(settings.profiles["a"], {}).value == "sk-from-cmd"
    with pytest.raises(MissingKey) as info:
        config.resolve_key(settings.profiles["b"], {})
    assert "exit 3" in str(info.value) and "status 3" in str(info.value)


def test_literal_key_in_world_readable_file_warns(tmp_path: Path) -> None:
    path = write(tmp_path, '[profiles.a]\nbase_url = "http://x"\napi_key = "sk-literal-123456"\n')
    path.chmod(0o644)
    settings = config.load(path, {})
    assert any("chmod 600" in w for w in settings.warnings)
    path.chmod(0o600)
    assert config.load(path, {}).warnings == ()


def test_paths_follow_relay_home_and_config(tmp_path: Path) -> None:
    p = resolve({"RELAY_HOME": str(tmp_path)})
    assert p.config == tmp_path / "config.toml" and p.ledger == tmp_path / "ledger.db"
    assert p.cache == tmp_path / "cache"
    p = resolve({"RELAY_HOME": str(tmp_path), "RELAY_CONFIG": str(tmp_path / "other.toml")})
    assert p.config == tmp_path / "other.toml" and p.ledger == tmp_path / "ledger.db"


def test_init_writes_a_valid_private_starter(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.toml"
    config_edit.init(path)
    settings = config.load(path, {})
    assert {"relay", "anthropic"} <= set(settings.profiles)
    assert settings.profiles["anthropic"].protocol == "anthropic"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(ConfigError):
        config_edit.init(path)
    config_edit.init(path, force=True)


def test_set_keeps_comments_and_validates(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    config_edit.init(path)
    config_edit.set_value(path, "profiles.relay.retries", "5")
    config_edit.set_value(path, "profiles.relay.timeout.read", "12")
    config_edit.set_value(path, "default_profile", "anthropic")
    config_edit.set_value(path, "profiles.new.base_url", "http://127.0.0.1:9/v1")
    text = path.read_text()
    assert "# An OpenAI-compatible relay" in text
    settings = config.load(path, {})
    assert settings.profiles["relay"].retries == 5
    assert settings.profiles["relay"].timeout.read == 12 and settings.profiles["relay"].timeout.connect == 5
    assert settings.default_profile == "anthropic"
    assert settings.profiles["new"].base_url == "http://127.0.0.1:9/v1"
    with pytest.raises(ConfigError):
        config_edit.set_value(path, "profiles.relay.protocol", "grpc")
    assert config.load(path, {}).profiles["relay"].protocol == "openai"


def test_profiles_listing_does_not_run_key_commands(tmp_path: Path) -> None:
    from relaycli.config.show import profile_rows, settings_rows

    marker = tmp_path / "ran"
    path = write(tmp_path, f'[profiles.a]\nbase_url = "http://x"\napi_key_cmd = "touch {marker}; echo sk-123"\n')
    settings = config.load(path, {})
    rows = {r["name"]: r for r in profile_rows(settings, {})}
    assert rows["a"]["key"] == "api_key_cmd (not run here)" and not marker.exists()
    shown = {r["key"]: r["value"] for r in settings_rows(settings, {}, only="a")}
    assert marker.exists() and "api_key_cmd" in shown["profiles.a.key"]


def test_failing_key_command_says_why(tmp_path: Path) -> None:
    path = write(tmp_path, '[profiles.a]\nbase_url = "http://x"\napi_key_cmd = "echo vault sealed >&2; exit 2"\n')
    with pytest.raises(MissingKey) as info:
        config.resolve_key(config.load(path, {}).profiles["a"], {})
    assert "vault sealed" in str(info.value)
    assert info.value.hint is not None and info.value.hint.startswith("run `echo vault sealed")


def test_set_handles_quoted_names_and_sub_tables(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[profiles."my relay"]\nbase_url = "http://x"\ntimeout = { read = 30 }\n\n'
        '[profiles.h]\nbase_url = "http://y"\n\n[profiles.h.aliases]  # typed -> sent\n'
        'fast = "a"\n\n'
        '[profiles.h.timeout]\nread = 9\n\n[prices."gpt-4.1"]\ninput = 1\noutput = 1\n',
    )
    config_edit.set_value(path, 'profiles."my relay".timeout.connect', "3")
    config_edit.set_value(path, 'profiles."my relay".retries', "5")
    config_edit.set_value(path, "profiles.h.aliases.smart", "b")
    config_edit.set_value(path, "profiles.h.timeout.connect", "2")
    config_edit.set_value(path, 'prices."gpt-4.1".input', "2.5")
    config_edit.set_value(path, 'prices."gpt-4.1".output', "8")
    config_edit.set_value(path, 'profiles."my.relay".base_url', "http://z/v1")
    settings = config.load(path, {})
    mine = settings.profiles["my relay"]
    assert (mine.timeout.read, mine.timeout.connect, mine.retries) == (30, 3, 5)
    assert settings.profiles["h"].aliases == {"fast": "a", "smart": "b"}
    assert (settings.profiles["h"].timeout.read, settings.profiles["h"].timeout.connect) == (9, 2)
    assert settings.prices["gpt-4.1"] == {"input": 2.5, "output": 8}
    assert settings.profiles["my.relay"].base_url == "http://z/v1"
    assert "# typed -> sent" in path.read_text()


def test_errors_name_the_line_of_quoted_profiles(tmp_path: Path) -> None:
    path = write(tmp_path, '[profiles."my.relay"]\nbase_url = "http://x"\nretries = -1\n')
    with pytest.raises(ConfigError) as info:
        config.load(path, {})
    assert f"{path}, line 3, column 1" in str(info.value) and '[profiles."my.relay"] retries' in str(info.value)


def test_a_built_in_profile_can_be_adjusted(tmp_path: Path) -> None:
    path = write(tmp_path, "[profiles.mock]\nbudget = 0.5\nretries = 0\n")
    settings = config.load(path, {"RELAY_MOCK_URL": "http://127.0.0.1:9999"})
    mock = settings.profiles["mock"]
    assert mock.base_url == "http://127.0.0.1:9999/v1" and mock.default_model == "gpt-4.1-mini"
    assert mock.budget == Decimal("0.5") and mock.retries == 0 and not mock.needs_key
    assert config.resolve_key(mock, {}).value is None
