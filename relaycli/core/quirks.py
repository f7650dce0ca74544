"""What relay learned about an endpoint's quirks, kept between runs in ``cache/quirks.json``.

Today one quirk: the server rejects ``stream_options`` (then relay stops sending it, and usage is
whatever the server reports). Entries remember the base URL they were learned on and are forgotten
when the profile points elsewhere. A missing or corrupt file is simply empty.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from relaycli.config.profile import Profile


class QuirkStore:
    def __init__(self, path: Path, profiles: Mapping[str, Profile]) -> None:
        self.path = path
        self.data: dict[str, dict[str, Any]] = {}
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raw = {}
        if isinstance(raw, dict):
            for name, entry in raw.items():
                profile = profiles.get(name)
                if profile and isinstance(entry, dict) and entry.get("base_url") == profile.base_url:
                    self.data[name] = dict(entry)
        self._saved = json.dumps(self.data, sort_keys=True)

    def for_client(self, profile: Profile) -> dict[str, dict[str, Any]]:
        """The mapping a RelayClient reads and updates (keyed by profile name)."""
        self.data.setdefault(profile.name, {"base_url": profile.base_url})
        return self.data

    def save(self) -> None:
        """Write the file if something was learned; failures to write are not worth an error."""
        keep = {name: entry for name, entry in self.data.items() if set(entry) - {"base_url"}}
        text = json.dumps(keep, sort_keys=True)
        if text == self._saved or (not keep and not self.path.exists()):
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".quirks-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, self.path)
            self._saved = text
        except OSError:
            pass
