"""`relay config set` / `unset`: comments kept, its own lists editable again, the whole result checked,
symlinks followed, and write failures as config errors naming the path."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from relaycli.config import edit, loader
from relaycli.errors import ConfigError
from tests.conftest import run_relay
from tests.integration.support import write_config

START = """\
# my relay config
default_profile = "a"   # the one I use

[profiles.a]
base_url = "http://127.0.0.1:9/v1"  # local
retries = 2                          # keep it low
fallback = [
    "mock",  # first
]

[profiles.b]
base_url = "http://127.0.0.1:9/v1"

# prices I pay
[prices."m"]
input = 1
output = 2   # per 1M
"""


def _write(tmp_path: Path, text: str = START) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_set_keeps_the_comment_on_the_edited_line(tmp_path: Path) -> None:
    path = _write(tmp_path)
    edit.set_value(path, "profiles.a.retries", "5")
    edit.set_value(path, "default_profile", "b")
    edit.set_value(path, 'prices."m".output', "3")
    text = path.read_text()
    assert "retries = 5                          # keep it low" in text
    assert 'default_profile = "b"   # the one I use' in text
    assert "output = 3   # per 1M" in text
    assert "# my relay config" in text and "# prices I pay" in text


def test_set_can_change_a_list_twice(tmp_path: Path) -> None:
    path = _write(tmp_path)
    edit.set_value(path, "profiles.a.fallback", '["mock"]')
    edit.set_value(path, "profiles.a.fallback", '["mock", "b"]')
    assert loader.load(path, {}).profiles["a"].fallback == ("mock", "b")
    edit.set_value(path, "profiles.b.fallback", '["mock"]')
    edit.set_value(path, "profiles.b.fallback", '["a"]')
    assert loader.load(path, {}).profiles["b"].fallback == ("a",)


@pytest.mark.parametrize(
    "key, value, words",
    [
        ("default_profile", "nosuch", "nosuch"),
        ("profiles.a.fallback", '["nosuch"]', "nosuch"),
        ('prices."m".input', "1e308", "input"),
        ('prices."new".input', "1", "output"),
        ("profiles.a.timeout.read", "inf", "timeout"),
        ("profiles.a.headers", '{ "X-A" = "a\\r\\nb" }', "line break"),
    ],
)
def test_set_refuses_what_later_commands_would_reject(tmp_path: Path, key: str, value: str, words: str) -> None:
    path = _write(tmp_path)
    with pytest.raises(ConfigError) as info:
        edit.set_value(path, key, value)
    assert words in str(info.value) and str(path) in str(info.value)
    assert path.read_text() == START


def test_set_a_whole_price_table(tmp_path: Path) -> None:
    path = _write(tmp_path)
    edit.set_value(path, 'prices."gpt-x"', "{ input = 2.5, output = 8 }")
    edit.set_value(path, 'prices."m"', "{ input = 4, output = 5 }")
    prices = loader.load(path, {}).prices
    assert prices["gpt-x"] == {"input": 2.5, "output": 8} and prices["m"] == {"input": 4, "output": 5}
    assert "output = 5   # per 1M" in path.read_text()


def test_unset_removes_one_line_or_one_table(tmp_path: Path) -> None:
    path = _write(tmp_path)
    edit.unset_value(path, "profiles.a.retries")
    edit.unset_value(path, 'prices."m"')
    edit.unset_value(path, "profiles.a.fallback")
    text = path.read_text()
    assert "retries" not in text and "[prices" not in text and "fallback" not in text and '"mock"' not in text
    assert "# my relay config" in text and "# local" in text
    settings = loader.load(path, {})
    assert settings.profiles["a"].retries == 2 and settings.prices == {}
    edit.unset_value(path, "profiles.b")
    assert "b" not in loader.load(path, {}).profiles


def test_unset_checks_and_names_unknown_keys(tmp_path: Path) -> None:
    path = _write(tmp_path)
    with pytest.raises(ConfigError, match="no setting 'profiles.a.nosuch'"):
        edit.unset_value(path, "profiles.a.nosuch")
    with pytest.raises(ConfigError, match="base_url"):
        edit.unset_value(path, "profiles.a.base_url")
    with pytest.raises(ConfigError, match="output"):
        edit.unset_value(path, 'prices."m".output')
    with pytest.raises(ConfigError, match="default_profile"):
        edit.unset_value(path, "profiles.a")  # default_profile names it
    assert path.read_text() == START


def test_set_edits_through_a_symlink(tmp_path: Path) -> None:
    target = _write(tmp_path)
    link = tmp_path / "link.toml"
    link.symlink_to(target)
    edit.set_value(link, "profiles.a.retries", "4")
    edit.unset_value(link, "profiles.b")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert loader.load(target, {}).profiles["a"].retries == 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".config-")]


def test_a_full_disk_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(ConfigError) as info:
        edit.set_value(path, "profiles.a.retries", "4")
    assert str(path) in str(info.value) and "no space left" in str(info.value)
    assert path.read_text() == START
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".config-")]


def test_cli_set_and_unset(relay_env: dict[str, str]) -> None:
    path = write_config(relay_env, START)
    ran = run_relay("config", "set", "default_profile", "nosuch", env=relay_env)
    assert ran.code == 3 and "nosuch" in ran.err and str(path) in ran.err
    ran = run_relay("config", "set", "profiles.a.fallback", '["mock"]', env=relay_env)
    assert ran.code == 0, ran.err
    ran = run_relay("config", "set", "profiles.a.fallback", '["mock", "b"]', env=relay_env)
    assert ran.code == 0, ran.err
    ran = run_relay("config", "unset", "profiles.a.nosuch", env=relay_env)
    assert ran.code == 3 and "no setting" in ran.err
    ran = run_relay("config", "unset", "profiles.a.retries", env=relay_env)
    assert ran.code == 0, ran.err
    assert "# keep it low" not in path.read_text() and "# local" in path.read_text()


def test_cli_set_through_a_symlinked_relay_config(relay_env: dict[str, str], tmp_path: Path) -> None:
    target = write_config(relay_env, START)
    link = tmp_path / "link.toml"
    link.symlink_to(target)
    ran = run_relay("config", "set", "profiles.a.retries", "7", env={**relay_env, "RELAY_CONFIG": str(link)})
    assert ran.code == 0, ran.err
    assert link.is_symlink() and "retries = 7" in target.read_text()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_cli_set_in_a_read_only_home(relay_env: dict[str, str]) -> None:
    path = write_config(relay_env, START)
    path.parent.chmod(0o500)
    try:
        ran = run_relay("config", "set", "profiles.a.retries", "4", env=relay_env)
    finally:
        path.parent.chmod(0o700)
    assert ran.code == 3 and str(path) in ran.err and "permission denied" in ran.err


def test_cli_set_on_a_full_disk(relay_env: dict[str, str], tmp_path: Path) -> None:
    path = write_config(relay_env, START)
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import errno, os\n"
        "def _full(fd):\n"
        "    raise OSError(errno.ENOSPC, 'No space left on device')\n"
        "os.fsync = _full\n"
    )
    env = {**relay_env, "PYTHONPATH": str(hook)}
    ran = run_relay("config", "set", "profiles.a.retries", "4", env=env)
    assert ran.code == 3, ran.err
    assert str(path) in ran.err and "no space left" in ran.err and "internal error" not in ran.err
    assert path.read_text() == START


def test_cli_set_when_config_is_a_directory(relay_env: dict[str, str]) -> None:
    path = Path(relay_env["RELAY_HOME"]) / "config.toml"
    path.mkdir(parents=True)
    for args in (
        ("config", "set", "retries", "1"),
        ("config", "set", "default_profile", "mock"),
        ("stream", "-p", "mock", "hi"),
        ("config", "unset", "default_profile"),
    ):
        ran = run_relay(*args, env=relay_env)
        assert ran.code == 3, (args, ran.err)
        assert str(path) in ran.err and "directory" in ran.err


def test_cli_set_on_a_read_only_file_system(relay_env: dict[str, str], tmp_path: Path) -> None:
    path = write_config(relay_env, START)
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import errno, tempfile\n"
        "def _ro(*args, **kwargs):\n"
        "    raise OSError(errno.EROFS, 'Read-only file system')\n"
        "tempfile.mkstemp = _ro\n"
    )
    ran = run_relay("config", "set", "profiles.a.retries", "4", env={**relay_env, "PYTHONPATH": str(hook)})
    assert ran.code == 3, ran.err
    assert str(path) in ran.err and "read-only" in ran.err and "internal error" not in ran.err


def test_config_set_never_prints_a_credential(isolated: Path) -> None:
    from tests.conftest import run_relay

    run_relay("config", "init")
    for key, value in [
        ("profiles.relay.api_key", "sk-live-TOPSECRET999"),
        ("profiles.relay.headers", '{ Authorization = "Bearer sk-HDRSECRET1" }'),
        ("profiles.relay.headers.X-Api-Key", "sk-HDRSECRET2"),
    ]:
        ran = run_relay("config", "set", key, value)
        assert ran.code == 0, ran.err
        assert "SECRET" not in ran.out + ran.err and "value is not shown" in ran.err, ran.err
    ran = run_relay("config", "set", "profiles.relay.retries", "3")
    assert "retries = 3" in ran.err  # ordinary settings are still shown
