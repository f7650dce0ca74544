"""The body of ``relay stream``: prompt in, text out (flushed per chunk), summary and JSON."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, TextIO

from relaycli.datatypes import Delta, Message
from relaycli.errors import RelayError, UsageError
from relaycli.pipeline.pipeline import Answer, Ask, OutputClosed, send
from relaycli.usage.money import format_money

if TYPE_CHECKING:
    from relaycli.context import AppContext


class TextSink:
    """Writes deltas to stdout as they come, flushing each; a closed pipe becomes ``OutputClosed``."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.wrote = False
        self.last = ""

    def __call__(self, delta: Delta) -> None:
        if delta.kind != "text" or not delta.text:
            return
        try:
            self.out.write(delta.text)
            self.out.flush()
        except BrokenPipeError:
            silence(self.out)
            raise OutputClosed() from None
        self.wrote, self.last = True, delta.text

    def finish(self) -> None:
        """End the text with a newline, like every line-oriented tool."""
        if self.wrote and not self.last.endswith("\n"):
            try:
                self.out.write("\n")
                self.out.flush()
            except BrokenPipeError:
                silence(self.out)


def silence(out: TextIO) -> None:
    """After EPIPE, point stdout at /dev/null so the interpreter's final flush stays quiet."""
    try:
        fd = out.fileno()
    except (AttributeError, ValueError, OSError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def read_prompt(args: list[str], ctx: AppContext) -> str:
    text = " ".join(args).strip()
    if not ctx.stdin_isatty:
        piped = ctx.stdin.read()
        if piped.strip():
            text = f"{text}\n\n{piped.rstrip()}" if text else piped.rstrip()
    if not text:
        raise UsageError("no prompt: give it as arguments or on stdin", hint='relay stream "your question"')
    return text


def run_stream(ctx: AppContext, *, prompt: list[str], profile_flag: str | None, model_flag: str | None,
               system: str | None, temperature: float | None, max_tokens: int | None,
               json_out: bool, verbose: bool) -> int:
    profile = ctx.profile(profile_flag)
    asked, _wire = ctx.model(profile, model_flag)
    ask = Ask(model=asked, messages=(Message("user", read_prompt(prompt, ctx)),), system=system,
              temperature=temperature, max_tokens=max_tokens,
              explicit=bool(model_flag or ctx.env.get("RELAY_MODEL")))
    sink = TextSink(ctx.stdout)
    collected: list[str] = []
    on_delta = (lambda d: collected.append(d.text) if d.kind == "text" else None) if json_out else sink
    try:
        answer = send(ctx, profile, ask, on_delta, command="stream")
        if json_out:
            ctx.stdout.write(json.dumps(to_json(answer), ensure_ascii=False) + "\n")
        sink.finish()
    except OutputClosed:
        return 0
    except (RelayError, KeyboardInterrupt):
        sink.finish()
        raise
    finally:
        ctx.close()
    if verbose:
        ctx.stderr.write(summary(answer) + "\n")
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
        "cached": False,
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

