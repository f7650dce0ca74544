"""The ``[cache]`` table and a profile's ``cache`` setting: values, defaults, and errors naming the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from relaycli.config.cache import CacheSettings, format_duration, format_size, parse_duration, parse_size
from relaycli.config.loader import parse
from relaycli.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(90, 90.0), (1.5, 1.5), ("90s", 90.0), ("30m", 1800.0), ("12h", 43200.0), ("7d", 604800.0), ("2w", 1209600.0)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", [0, -5, "soon", "7y", True, "", "11000d"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [(65536, 65536), ("64KB", 64_000), ("64 KiB", 65536), ("500MB", 500_000_000), ("2GiB", 2 * 1024**3)],
)
def test_sizes(text: object, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", [0, 1024, "big", "5PB", True, 2.5])
def test_bad_sizes(text: object) -> None:
    with pytest.raises(ValueError, match="size"):
        parse_size(text)


def test_formats_for_people() -> None:
    assert [format_duration(s) for s in (5, 125, 7200, 8 * 86400)] == ["5 s", "2 min", "2 h", "8 d"]
    assert [format_size(n) for n in (512, 32_768, 5_200_000, 2 * 10**9)] == ["512 B", "32.8 KB", "5.2 MB", "2.0 GB"]


def test_defaults_and_values() -> None:
    settings = parse(Path("c.toml"), '[profiles.a]\nbase_url = "http://h"\n', {})
    assert settings.cache == CacheSettings(enabled=True, ttl_s=7 * 86400, max_size=500_000_000)
    assert settings.profiles["a"].cache is True
    text = (
        '[cache]\nenabled = false\nttl = "12h"\nmax_size = "1MB"\n[profiles.a]\nbase_url = "http://h"\ncache = false\n'
    )
    settings = parse(Path("c.toml"), text, {})
    assert settings.cache == CacheSettings(enabled=False, ttl_s=43200, max_size=1_000_000)
    assert settings.profiles["a"].cache is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[cache]\nttl = "forever"\n', "line 2, column 1: [cache] ttl: expected a duration"),
        ('[cache]\nenabled = "yes"\n', "line 2, column 1: [cache] enabled: expected true or false"),
        ("\n[cache]\nmax_size = 10\n", "line 3, column 1: [cache] max_size: expected a size from 32KiB"),
        ("[cache]\nsize = 10\n", "[cache] size: unknown setting; known: enabled, max_size, ttl"),
        ("cache = 3\n", "[cache]: expected a table"),
        ('[profiles.a]\nbase_url = "http://h"\ncache = "no"\n', "line 3, column 1: [profiles.a] cache: expected true"),
    ],
)
def test_errors_name_the_line(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(Path("c.toml"), text, {})
    assert expected in caught.value.message
