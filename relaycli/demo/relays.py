"""For ``relay demo``: two more local relays, a slow one playing the provider ("direct") and a faster one
playing a relay ("relay"), and profiles for them in the demo's throwaway config, so the tour can show
``relay bench -p direct -p relay`` side by side."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from relaycli.mock.server import MockServer

BENCH_ARGS = ("bench", "-p", "direct", "-p", "relay", "-n", "20", "-c", "4", "--max-tokens", "24")


def start_demo_relays(home: str, *, fast: bool) -> list[MockServer]:
    """Start both servers and write their profiles to ``home``/config.toml; stop the servers afterwards."""
    from relaycli.mock.options import MockOptions
    from relaycli.mock.server import MockServer

    scale = 0.2 if fast else 1.0
    direct = MockOptions(ttft_dist=f"lognormal:{0.12 * scale:g}:0.3", token_delay=0.010 * scale, dist_seed=1)
    relay = MockOptions(ttft_dist=f"lognormal:{0.05 * scale:g}:0.3", token_delay=0.006 * scale, dist_seed=2)
    servers = [MockServer(port=0, options=direct).start(), MockServer(port=0, options=relay).start()]
    config = Path(home) / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        "# Written by `relay demo`: two local relays, a slow one standing in for a provider's own API and a\n"
        "# faster one standing in for a relay, for the `relay bench` step.\n"
        f'[profiles.direct]\nbase_url = "{servers[0].url}/v1"\ndefault_model = "gpt-4.1-mini"\n\n'
        f'[profiles.relay]\nbase_url = "{servers[1].url}/v1"\ndefault_model = "gpt-4.1-mini"\n',
        encoding="utf-8",
    )
    return servers
