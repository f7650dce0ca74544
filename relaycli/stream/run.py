"""The body of ``relay stream``: prompt in, text out (flushed per chunk), summary and JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from relaycli.config.profile import Profile
from relaycli.datatypes import Delta, Message
from relaycli.errors import OutputClosed, RelayError, UsageError
from relaycli.output.sinks import TextSink
from relaycli.output.streams import Streams
from relaycli.usage.money import format_money

if TYPE_CHECKING:
    from relaycli.pipeline import Answer, Pipeline


def read_prompt(args: list[str], streams: Streams) -> str:
    text = " ".join(args).strip()
    if not streams.stdin_isatty:
        piped = streams.stdin.read()
        if piped.strip():
            text = f"{text}\n\n{piped.rstrip()}" if text else piped.rstrip()
    if not text:
        raise UsageError("no prompt: give it as arguments or on stdin", hint='relay stream "your question"')
    return text


@dataclass(frozen=True, slots=True)
class StreamOptions:
    prompt: list[str]
    model: str  # as typed (alias or name)
    model_explicit: bool  # chosen by the user, not the profile's default (a fallback then uses its own)
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    json_out: bool = False
    verbose: bool = False


def run_stream(pipeline: Pipeline, streams: Streams, profile: Profile, options: StreamOptions) -> int:
    """Ask once, write the answer as it arrives (or one JSON document), return the exit code."""
    from relaycli.pipeline import Ask

    ask = Ask(model=options.model, messages=(Message("user", read_prompt(options.prompt, streams)),),
              system=options.system, temperature=options.temperature, max_tokens=options.max_tokens,
              explicit=options.model_explicit)
    sink = TextSink(streams.stdout)
    collected: list[str] = []

    def keep(delta: Delta) -> None:
        if delta.kind == "text":
            collected.append(delta.text)

    try:
        answer = pipeline.run(ask, keep if options.json_out else sink, profile=profile, command="stream")
        if options.json_out:
            streams.stdout.write(json.dumps(to_json(answer), ensure_ascii=False) + "\n")
        sink.finish()
    except OutputClosed:
        return 0
    except (RelayError, KeyboardInterrupt):
        sink.finish()
        raise
    if options.verbose:
        streams.stderr.write(summary(answer) + "\n")
    return 0


def to_json(answer: Answer) -> dict[str, object]:
    r, u = answer.result, answer.result.usage
    return {
        "text": r.text,
        "model": r.model or answer.profile.resolve_model(answer.model_asked),
        "model_requested": answer.model_asked,
        "profile": answer.profile.name,
        "finish_reason": r.finish_reason,
        "usage": {"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens,
                  "cached_tokens": u.cached_tokens, "cache_write_tokens": u.cache_write_tokens},
        "cost": {"usd": _num(answer.cost_usd), "billed": _num(answer.billed),
                 "currency": answer.profile.billing.currency},
        "latency_ms": _round(r.timing.latency_ms),
        "ttft_ms": _round(r.timing.ttft_ms),
        "retries": r.retries,
        "cached": answer.cached,
        "request_id": r.request_id,
    }


def summary(answer: Answer) -> str:
    r, u = answer.result, answer.result.usage
    tokens = f"{_count(u.prompt_tokens)} in / {_count(u.completion_tokens)} out tokens"
    if answer.cost_usd is None:
        cost = "unpriced"
    else:
        cost = format_money(answer.cost_usd, "USD")
        if answer.profile.billing.currency != "USD" or answer.profile.billing.per_usd != 1:
            cost += f" ({format_money(answer.billed, answer.profile.billing.currency)} billed)"
    ttft = f"TTFT {r.timing.ttft_ms:.0f} ms" if r.timing.ttft_ms is not None else "TTFT -"
    latency = f"{r.timing.latency_ms:.0f} ms" if r.timing.latency_ms is not None else "-"
    model = r.model or answer.model_asked
    retries = f" · {r.retries} retr{'y' if r.retries == 1 else 'ies'}" if r.retries else ""
    return f"{model} · {answer.profile.name} · {tokens} · {cost} · {ttft} · {latency}{retries}"


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _num(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)

