"""Helpers for cost tests: a config, and requests written through the real recording path
(``recording.build_row`` with the real price table, then ``Ledger.record``)."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from relaycli.commands.cost import run as run_cost
from relaycli.config.loader import load
from relaycli.context import AppContext
from relaycli.cost.run import CostOptions
from relaycli.datatypes import Result, Timing, Usage
from relaycli.errors import RateLimited
from relaycli.ledger import Ledger
from relaycli.pipeline.recording import build_row
from relaycli.usage.prices import PriceTable

CONFIG = """\
default_profile = "relay"

[profiles.relay]
base_url = "https://relay.example.com/v1"
billing = { currency = "CNY", per_usd = 1.0 }
compare_to = { currency = "CNY", per_usd = 7.3 }

[profiles.direct]
base_url = "https://api.example.com/v1"
billing = { currency = "CNY", per_usd = 7.3 }

[profiles.card]
base_url = "https://router.example.com/v1"

[prices."alpha-1"]
input = 2.00
output = 8.00
cached_input = 0.50

[prices."beta-2"]
input = 3.00
output = 15.00
cached_input = 0.30
cache_write = 3.75
"""


class Home:
    """A RELAY_HOME with a config, and a way to record requests into its ledger."""

    def __init__(self, path: Path, config: str = CONFIG) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.write_config(config)

    def write_config(self, text: str) -> None:
        (self.path / "config.toml").write_text(text)
        self.settings = load(self.path / "config.toml", {})
        self.prices = PriceTable.load(self.settings.prices)

    @property
    def env(self) -> dict[str, str]:
        return {"RELAY_HOME": str(self.path)}

    def record(
        self,
        when: datetime,
        profile: str,
        model: str,
        prompt: int | None,
        completion: int | None,
        cached: int = 0,
        written: int = 0,
        *,
        outcome: str = "ok",
        tag: str | None = None,
        failed: bool = False,
        hit: bool = False,
    ) -> None:
        """One request; ``failed``: an error the endpoint answered with, no usage at all; ``hit``: answered
        from the response cache (with the usage first reported)."""
        usage = Usage(
            prompt_tokens=prompt,
            completion_tokens=completion,
            cached_tokens=cached or None,
            cache_write_tokens=written or None,
        )
        result = (
            None
            if failed
            else Result(
                text="",
                model=model,
                finish_reason="stop",
                usage=usage,
                request_id="req_t",
                timing=Timing(t_send=0, t_end=1_000_000),
            )
        )
        row = build_row(
            command="stream",
            profile=self.settings.profiles[profile],
            model_requested=model,
            result=result,
            outcome="error" if failed else outcome,
            error=RateLimited("429", status=429) if failed else None,
            prices=self.prices,
            tag=tag,
            now=lambda: when,
            cached=hit,
        )
        with Ledger.open(self.path / "ledger.db") as ledger:
            ledger.record(row)

    def cost(
        self, *, env: Mapping[str, str] | None = None, now: datetime | None = None, **options: Any
    ) -> tuple[str, str]:
        """``relay cost`` in-process: (stdout, stderr)."""
        out, err = io.StringIO(), io.StringIO()
        ctx = AppContext(env={**self.env, **(env or {})}, stdout=out, stderr=err)
        assert run_cost(ctx, CostOptions(**options), now=now) == 0
        return out.getvalue(), err.getvalue()

    def cost_json(
        self, *, env: Mapping[str, str] | None = None, now: datetime | None = None, **options: Any
    ) -> dict[str, Any]:
        out, _ = self.cost(output="json", env=env, now=now, **options)
        return dict(json.loads(out))
