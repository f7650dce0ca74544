"""Where relay keeps its files: config.toml, ledger.db and the response cache.

``RELAY_HOME=DIR`` puts all three under DIR; ``RELAY_CONFIG=FILE`` points at another config file.
Otherwise the platform's directories (platformdirs). Nothing here creates anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP = "relay"


@dataclass(frozen=True, slots=True)
class Paths:
    config: Path
    ledger: Path
    cache: Path
    config_source: str  # how the config path was chosen: "RELAY_CONFIG", "RELAY_HOME" or "platform"


def resolve(env: os._Environ[str] | dict[str, str] | None = None) -> Paths:
    env = os.environ if env is None else env
    home = env.get("RELAY_HOME")
    if home:
        base = Path(home).expanduser()
        config, ledger, cache, source = base / "config.toml", base / "ledger.db", base / "cache", "RELAY_HOME"
    else:
        import platformdirs

        config = Path(platformdirs.user_config_dir(APP)) / "config.toml"
        ledger = Path(platformdirs.user_data_dir(APP)) / "ledger.db"
        cache = Path(platformdirs.user_cache_dir(APP))
        source = "platform"
    explicit = env.get("RELAY_CONFIG")
    if explicit:
        config, source = Path(explicit).expanduser(), "RELAY_CONFIG"
    return Paths(config=config, ledger=ledger, cache=cache, config_source=source)
