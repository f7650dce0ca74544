"""What relay learned about an endpoint's quirks, kept between runs in ``cache/quirks.json``.

Two quirks today: the server rejects ``stream_options`` (then relay stops sending it, and usage is
whatever the server reports), and the server wants the other name for the output-token cap. The client
records a quirk only once a request without the rejected field succeeded; ``save`` stamps it with the
time and returns one note per newly learned quirk. Entries are forgotten after ``TTL_S`` (a week), when
the profile points at another base URL, or by ``forget`` (``relay config forget-quirks``). A missing or
corrupt file is simply empty.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from relaycli.config.profile import Profile
from relaycli.paths import private_dir, tighten

TTL_S = 7 * 24 * 3600
_META = frozenset({"base_url", "learned"})
_WHAT = {
    "no_stream_options": "rejects stream_options, so requests go without it and token usage (and cost) may be unknown",
    "max_tokens_field": "wants a different name for the output-token cap",
}


def _quirk_names(entry: Mapping[str, Any]) -> list[str]:
    return sorted(set(entry) - _META)


class QuirkStore:
    def __init__(self, path: Path, profiles: Mapping[str, Profile], *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.profiles = profiles
        self.clock = clock
        self.data: dict[str, dict[str, Any]] = {}
        if path.exists():
            private_dir(path.parent)  # relay's own directory and file: tightened when found looser
            tighten(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            raw = {}
        now = clock()
        if isinstance(raw, dict):
            for name, entry in raw.items():
                profile = profiles.get(name)
                if profile and isinstance(entry, dict) and entry.get("base_url") == profile.base_url:
                    kept = self._fresh(entry, now)
                    if kept:
                        self.data[name] = kept
        self._loaded = {name: {q: entry[q] for q in _quirk_names(entry)} for name, entry in self.data.items()}
        self._saved = self._text()

    @staticmethod
    def _fresh(entry: dict[str, Any], now: float) -> dict[str, Any] | None:
        """The entry without quirks older than TTL_S (or of unknown age); None when none is left."""
        stamps = entry.get("learned")
        learned: dict[str, Any] = stamps if isinstance(stamps, dict) else {}
        kept: dict[str, Any] = {"base_url": entry["base_url"], "learned": {}}
        for quirk in _quirk_names(entry):
            when = learned.get(quirk)
            if isinstance(when, int | float) and not isinstance(when, bool) and 0 <= now - when < TTL_S:
                kept[quirk] = entry[quirk]
                kept["learned"][quirk] = when
        return kept if len(kept) > 2 else None

    def for_client(self, profile: Profile) -> dict[str, dict[str, Any]]:
        """The mapping a RelayClient reads and updates (keyed by profile name)."""
        self.data.setdefault(profile.name, {"base_url": profile.base_url})
        return self.data

    def learned(self) -> dict[str, list[tuple[str, str, str]]]:
        """Per profile: (quirk, value, the UTC date it was learned), for ``relay config show``."""
        out: dict[str, list[tuple[str, str, str]]] = {}
        for name, entry in sorted(self.data.items()):
            stamps = entry.get("learned", {})
            for quirk in _quirk_names(entry):
                when = stamps.get(quirk, self.clock())
                day = datetime.fromtimestamp(when, UTC).date().isoformat()
                out.setdefault(name, []).append((quirk, json.dumps(entry[quirk]), day))
        return out

    def forget(self, name: str | None = None) -> list[str]:
        """Forget what was learned (about one profile, or all); the names that had something."""
        names = [n for n in sorted(self.data) if (name is None or n == name) and _quirk_names(self.data[n])]
        for n in names:
            del self.data[n]
        self._write()
        return names

    def save(self) -> list[str]:
        """Stamp and write what was learned in this run; one note per new quirk. Failures to write are
        not worth an error (the quirk is then learned again next time)."""
        notes: list[str] = []
        now = self.clock()
        for name, entry in self.data.items():
            before = self._loaded.get(name, {})
            stamps = entry.setdefault("learned", {})
            for quirk in _quirk_names(entry):
                if quirk in before and before[quirk] == entry[quirk] and quirk in stamps:
                    continue
                stamps[quirk] = now
                notes.append(self._note(name, entry, quirk))
        self._loaded = {name: {q: entry[q] for q in _quirk_names(entry)} for name, entry in self.data.items()}
        self._write()
        return notes

    def _note(self, name: str, entry: Mapping[str, Any], quirk: str) -> str:
        profile = self.profiles.get(name)
        host = profile.host if profile else entry.get("base_url", "?")
        what = _WHAT.get(quirk, f"needs {quirk} = {json.dumps(entry[quirk])}")
        days = TTL_S // 86400
        return (
            f"learned that {host} (profile '{name}') {what}; remembered for {days} days "
            f"(`relay config forget-quirks -p {name}` forgets it now)"
        )

    def _text(self) -> str:
        keep = {name: entry for name, entry in self.data.items() if _quirk_names(entry)}
        return json.dumps(keep, sort_keys=True)

    def _write(self) -> None:
        text = self._text()
        if text == self._saved or (text == "{}" and not self.path.exists()):
            return
        try:
            private_dir(self.path.parent)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".quirks-")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._saved = text
        except OSError:
            pass
