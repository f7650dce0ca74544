"""AppContext: what a command needs, built lazily once per invocation. Only ``cli.py`` and ``commands/``
see it; they hand feature code the pieces it needs (the pipeline, ``Streams``, ``Notes``, the ledger).

Holds the environment (streams, tty flags, environment variables) so commands never reach for
globals, and opens the config, price table, ledger and HTTP clients only when first asked.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from relaycli.config.loader import Settings, get_profile, load, resolve_key, select_profile
from relaycli.config.profile import Profile, ResolvedKey
from relaycli.datatypes import Notes
from relaycli.errors import ConfigError
from relaycli.output.streams import Streams
from relaycli.paths import Paths, resolve

if TYPE_CHECKING:
    from relaycli.bench.services import Services as MeasureServices
    from relaycli.cache.service import DiskCache
    from relaycli.core.client import RelayClient, RetryNotice
    from relaycli.core.quirks import QuirkStore
    from relaycli.ledger import Ledger
    from relaycli.limits.guard import SharedGuard
    from relaycli.pipeline import Pipeline
    from relaycli.team.budget import TeamBudget
    from relaycli.usage.prices import PriceTable


class AppContext:
    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        transport: Any = None,
    ) -> None:
        self.env = os.environ if env is None else env
        self.streams = Streams(stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr)
        self.transport = transport  # an httpx transport for tests; None = the network
        self._ledger: Ledger | None = None
        self._cache: DiskCache | None = None
        self._guard: SharedGuard | None = None
        self._noted: set[str] = set()
        self._pool: dict[str, RelayClient] = {}
        self._pool_lock = threading.Lock()
        self._guard_lock = threading.Lock()
        self.share_clients = False  # True: the pipeline reuses one client per profile (``shared_client``)
        self.on_loop = False  # True: requests run on an event loop (``core/bridge.py``): serve, batch
        self.defer_ledger = False  # True: ledger rows are written off the request path, in small batches
        self.auto_push = True  # with [team] push = "auto": push the ledger's new rows when the command ends

    # -- environment -------------------------------------------------------------------------
    @property
    def stdin(self) -> TextIO:
        return self.streams.stdin

    @property
    def stdout(self) -> TextIO:
        return self.streams.stdout

    @property
    def stderr(self) -> TextIO:
        return self.streams.stderr

    @property
    def stdout_isatty(self) -> bool:
        return self.streams.stdout_isatty

    @property
    def stdin_isatty(self) -> bool:
        return self.streams.stdin_isatty

    @property
    def notes(self) -> Notes:
        return self.streams.notes()

    def warn(self, message: str) -> None:
        self.streams.warn(message)

    def note(self, message: str) -> None:
        self.streams.note(message)

    # -- services ----------------------------------------------------------------------------
    @cached_property
    def paths(self) -> Paths:
        return resolve(self.env)

    @cached_property
    def settings(self) -> Settings:
        settings = load(self.paths.config, self.env)
        for warning in settings.warnings:
            self.warn(warning)
        return settings

    def profile(self, flag: str | None) -> Profile:
        return select_profile(self.settings, flag, self.env)

    def named_profile(self, name: str) -> Profile:
        return get_profile(self.settings, name, "fallback list")

    def key(self, profile: Profile) -> ResolvedKey:
        key = resolve_key(profile, self.env)
        from relaycli.core.scrub import remember

        remember(key.value)  # the error boundary removes it from anything it prints
        if key.note and key.note not in self._noted:  # said once per run
            self._noted.add(key.note)
            self.warn(key.note)
        return key

    def model(self, profile: Profile, flag: str | None) -> tuple[str, str]:
        """(the name the user asked for, the name sent on the wire): flag > RELAY_MODEL > profile."""
        asked = flag or self.env.get("RELAY_MODEL") or profile.default_model
        if not asked:
            raise ConfigError(
                f"profile {profile.name!r} has no default_model and no -m/--model was given",
                hint=f"pass -m MODEL, or `relay config set profiles.{profile.name}.default_model MODEL`; "
                "`relay models` lists them",
            )
        return asked, profile.resolve_model(asked)

    def model_explicit(self, flag: str | None) -> bool:
        """Whether the model was chosen by the user (flag or RELAY_MODEL), not a profile's default."""
        return bool(flag or self.env.get("RELAY_MODEL"))

    @cached_property
    def prices(self) -> PriceTable:
        from relaycli.usage.prices import PriceTable

        return PriceTable.load(self.settings.prices)

    def ledger(self) -> Ledger:
        if self._ledger is None:
            from relaycli.ledger import Ledger

            self._ledger = Ledger.open(self.paths.ledger)
        return self._ledger

    def client(self, profile: Profile, key: ResolvedKey, notes: Notes | None = None) -> RelayClient:
        from relaycli.core.client import RelayClient

        say = notes or self.notes

        def announce(notice: RetryNotice) -> None:
            say.note(f"{notice.reason}; retrying in {notice.wait_s:.1f} s (retry {notice.attempt})")

        def observe(status: int, headers: Mapping[str, str]) -> None:
            self.pipeline.guard.observe(profile, status, headers)

        def pace(seconds: float) -> None:  # a retry waits for the shared limits too (a pause, the rpm bucket)
            self.pipeline.guard.retry_wait(profile, seconds, say)

        return RelayClient(
            profile,
            key,
            transport=self.transport,
            sleep=pace,
            on_retry=announce,
            quirks=self.quirks.for_client(profile),
            on_response=observe,
            on_loop=self.on_loop,
        )

    def shared_client(self, profile: Profile, key: ResolvedKey, notes: Notes | None = None) -> RelayClient:
        """One client per profile for the whole run, for commands that send many requests at once (``relay
        batch``): connections are kept alive and reused; ``close`` closes them all. Its retry notices go
        where the first request's notes went."""
        with self._pool_lock:
            client = self._pool.get(profile.name)
            if client is None:
                client = self._pool[profile.name] = self.client(profile, key, notes)
        return _Borrowed(client)  # type: ignore[return-value]

    @cached_property
    def quirks(self) -> QuirkStore:
        from relaycli.core.quirks import QuirkStore

        return QuirkStore(self.paths.cache / "quirks.json", self.settings.profiles)

    @cached_property
    def pipeline(self) -> Pipeline:
        """The request pipeline every command that asks a model shares."""
        from relaycli.pipeline import Pipeline, Recorder, Router
        from relaycli.pipeline.seams import LazyGuard

        return Pipeline(
            router=Router(self.named_profile),
            keys=self.key,
            clients=self.shared_client if self.share_clients else self.client,
            recorder=Recorder(ledger=self.ledger, prices=lambda: self.prices, deferred=self.defer_ledger),
            notes=self.notes,
            env=self.env,
            cache=self.response_cache(),
            guard=LazyGuard(self.guard),
            team_budget=self._team_budget(),
        )

    def _team_budget(self) -> TeamBudget | None:
        """[team] budgets, checked on every request like a profile's (``team/budget.py``)."""
        team = self.settings.team
        if not team.configured or not team.has_budgets:
            return None
        from relaycli.team.budget import TeamBudget

        return TeamBudget(team, self.env, self.paths.ledger.parent)

    def guard(self) -> SharedGuard:
        """Rate limits and circuit breakers, shared with every relay process through ``limits.db``."""
        with self._guard_lock:  # threads of one run share one guard (one connection to limits.db)
            if self._guard is None:
                from relaycli.limits.guard import SharedGuard

                self._guard = SharedGuard(self.limits_path, warn=self.warn)
            return self._guard

    @property
    def limits_path(self) -> Path:
        return self.paths.cache / "limits.db"

    @property
    def cache_path(self) -> Path:
        return self.paths.cache / "cache.db"

    def response_cache(self) -> DiskCache | None:
        """The disk response cache (``cache.db``), or None when ``[cache] enabled = false``."""
        if self._cache is None and self.settings.cache.enabled:
            from relaycli.cache.service import DiskCache

            # deferred with the ledger (batch, serve): answers stored off the requests' path
            self._cache = DiskCache(self.cache_path, self.settings.cache, warn=self.warn, deferred=self.defer_ledger)
        return self._cache

    def measure_services(self) -> MeasureServices:
        """What ``relay bench`` and ``relay ping`` need."""
        from relaycli.bench.services import Services

        return Services(
            profile=self.profile,
            default_model=lambda chosen: self.model(chosen, None)[0],
            key=self.key,
            ledger=self.ledger,
            prices=lambda: self.prices,
            warn=self.warn,
            env=self.env,
        )

    def close(self) -> None:
        if "pipeline" in self.__dict__:
            self.pipeline.recorder.close()  # the rows still queued, before the ledger closes
        if "quirks" in self.__dict__:
            for message in self.quirks.save():
                self.note(message)
        if (
            self._ledger is not None
            and self.auto_push
            and "settings" in self.__dict__
            and self.settings.team.configured
        ):
            from relaycli.team.auto import push_after

            self.auto_push = False  # once per run, however often close is called
            push_after(self.settings.team, self.env, self._ledger, self.paths.ledger.parent, self.warn)
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None
        if self._cache is not None:
            self._cache.close()
            self._cache = None
        if self._guard is not None:
            self._guard.close()
            self._guard = None
        for client in self._pool.values():
            client.close()
        self._pool.clear()


class _Borrowed:
    """A pooled client lent for one request: leaving the ``with`` block keeps it open."""

    def __init__(self, client: RelayClient) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def __enter__(self) -> RelayClient:
        return self._client

    def __exit__(self, *exc: object) -> None:
        return None
