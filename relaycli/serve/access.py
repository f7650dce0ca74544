"""The access log: one line per request on stderr, as text or JSON (``--log-format json``).

Lines hold what the exchange was (method, path, model, route, status, tokens, cost, TTFT, latency,
cached, tag), never a header or a body, and pass through the key scrubber all the same.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import TextIO

from relaycli.core.scrub import scrub_known
from relaycli.serve.exchange import Exchange

__all__ = ["AccessLog"]


class AccessLog:
    def __init__(self, fmt: str = "text", out: TextIO | None = None, clock: Callable[[], float] = time.time) -> None:
        self.fmt = fmt
        self.out = out or sys.stderr
        self.clock = clock

    def write(self, ex: Exchange) -> None:
        line = self.json_line(ex) if self.fmt == "json" else self.text_line(ex)
        try:
            self.out.write(scrub_known(line) + "\n")
            self.out.flush()
        except (OSError, ValueError):
            pass  # a closed stderr never stops the server

    def json_line(self, ex: Exchange) -> str:
        doc = {
            "time": round(self.clock(), 3),
            "client": ex.client,
            "method": ex.method,
            "path": ex.path,
            "status": ex.status,
            "model": ex.model,
            "profile": ex.profile,
            "route": ex.route,
            "tag": ex.tag,
            "stream": ex.stream,
            "tokens_in": ex.tokens_in,
            "tokens_out": ex.tokens_out,
            "cost_usd": None if ex.cost_usd is None else str(ex.cost_usd),
            "ttft_ms": None if ex.ttft_ms is None else round(ex.ttft_ms, 1),
            "latency_ms": None if ex.latency_ms is None else round(ex.latency_ms, 1),
            "cached": ex.cached,
            "error": ex.error,
        }
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))

    def text_line(self, ex: Exchange) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.clock()))
        parts = [stamp, ex.client or "-", ex.method, ex.path, str(ex.status)]
        if ex.model is not None:
            parts.append(f"model={ex.model}")
        if ex.profile is not None:
            parts.append(f"route={ex.profile}" + (f" ({ex.route})" if ex.route else ""))
        if ex.tag:
            parts.append(f"tag={ex.tag}")
        if ex.model is not None:
            parts.append(f"tokens={_n(ex.tokens_in)}/{_n(ex.tokens_out)}")
            parts.append(f"cost=${ex.cost_usd}" if ex.cost_usd is not None else "cost=?")
            parts.append(f"ttft={_ms(ex.ttft_ms)}")
            parts.append(f"latency={_ms(ex.latency_ms)}")
            parts.append("cached" if ex.cached else "live")
        if ex.error:
            parts.append(f"error={ex.error!r}")
        return " ".join(parts)


def _n(value: int | None) -> str:
    return "?" if value is None else str(value)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}ms"
