"""The ``[cache]`` table and the duration and size notations it accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from relaycli.config.cache import CacheSettings, format_duration, format_size, parse_duration, parse_size
from relaycli.config.loader import parse
from relaycli.errors import ConfigError

CONFIG = Path("/nowhere/config.toml")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (3600, 3600),
        (1.5, 1.5),
        ("90s", 90),
        ("90", 90),
        ("30m", 1800),
        ("12h", 43_200),
        ("7d", 604_800),
        ("2w", 1_209_600),
        (" 1.5h ", 5400),
        ("7D", 604_800),
        ("3 d", 259_200),
    ],
)
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    "value", [0, -1, "0d", "-1d", "7x", "d", "", "1d12h", True, None, float("nan"), float("inf"), "11000d"]
)
def test_bad_durations_say_what_is_accepted(value: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("value", "size"),
    [
        (65_536, 65_536),
        ("500MB", 500_000_000),
        ("500mb", 500_000_000),
        ("64 KiB", 65_536),
        ("66KB", 66_000),
        ("2GiB", 2 * 1024**3),
        ("1TiB", 1024**4),
        ("0.5GB", 500_000_000),
        ("4.35MB", 4_350_000),
        ("1.1MB", 1_100_000),
        ("8.2MB", 8_200_000),
        ("2.01GB", 2_010_000_000),
        ("64.5KiB", 66_048),
        ("65536", 65_536),
        ("70000B", 70_000),
    ],
)
def test_sizes(value: object, size: int) -> None:
    assert parse_size(value) == size


@pytest.mark.parametrize(
    "value", [0, 1024, "32KiB", "63.9KiB", "64KB", "2TiB", "500XB", "MB", "", True, None, -65_536, "1e9"]
)
def test_bad_sizes_say_what_is_accepted(value: object) -> None:
    with pytest.raises(ValueError, match="size"):
        parse_size(value)


def test_formats() -> None:
    assert [format_duration(s) for s in (0, 45, 60, 3599, 7200, 7 * 86_400)] == [
        "0 s",
        "45 s",
        "1 min",
        "59 min",
        "2 h",
        "7 d",
    ]
    assert [format_size(n) for n in (512, 64_000, 500_000_000, 2_500_000_000)] == [
        "512 B",
        "64.0 KB",
        "500.0 MB",
        "2.5 GB",
    ]


def test_the_cache_table_and_its_defaults() -> None:
    assert parse(CONFIG, "", {}).cache == CacheSettings(enabled=True, ttl_s=7 * 86_400, max_size=500 * 1000**2)
    settings = parse(CONFIG, '[cache]\nenabled = false\nttl = "12h"\nmax_size = "64KiB"\n', {})
    assert settings.cache == CacheSettings(enabled=False, ttl_s=43_200, max_size=65_536)


def test_a_profile_may_turn_the_cache_off() -> None:
    settings = parse(CONFIG, '[profiles.mock]\ncache = false\n[profiles.r]\nbase_url = "http://127.0.0.1:9"\n', {})
    assert settings.profiles["mock"].cache is False and settings.profiles["r"].cache is True


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('[cache]\nttl = "forever"\n', "ttl"),
        ("[cache]\nttl = 0\n", "ttl"),
        ('[cache]\nmax_size = "1KB"\n', "max_size"),
        ('[cache]\nenabled = "yes"\n', "enabled"),
        ("[cache]\nsize = 1\n", "size"),
        ('cache = "on"\n', "cache"),
        ('[profiles.mock]\ncache = "no"\n', "cache"),
    ],
)
def test_a_bad_cache_setting_is_a_config_error_naming_it(text: str, where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(CONFIG, text, {})
    assert where in caught.value.message and str(CONFIG) in caught.value.message
