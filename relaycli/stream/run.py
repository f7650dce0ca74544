"""The body of ``relay stream``: prompt in, text out (flushed per chunk), summary and JSON."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from relaycli.config.profile import Profile
from relaycli.datatypes import Delta, Message, Result, Timing, Usage
from relaycli.errors import OutputClosed, OutputFailed, RelayError, UsageError
from relaycli.output.money import decimal_string
from relaycli.output.sinks import TextSink
from relaycli.output.streams import Streams
from relaycli.usage.money import format_money

if TYPE_CHECKING:
    from relaycli.pipeline import Answer, Pipeline
    from relaycli.pipeline.request import CacheUse
    from relaycli.pipeline.seams import Priority


def read_prompt(args: list[str], streams: Streams) -> str:
    text = " ".join(args).strip()
    if not streams.stdin_isatty:
        piped = read_stdin(streams)
        if piped.strip():
            text = f"{text}\n\n{piped.rstrip()}" if text else piped.rstrip()
    if not text:
        raise UsageError("no prompt: give it as arguments or on stdin", hint='relay stream "your question"')
    return text


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """What ``relay stream`` was asked for."""

    prompt: list[str]
    model: str  # as typed (alias or name)
    model_explicit: bool  # chosen by the user, not the profile's default (a fallback then uses its own)
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    cache: CacheUse | None = None  # None: no cache
    json_out: bool = False
    verbose: bool = False


def run_stream(pipeline: Pipeline, streams: Streams, profile: Profile, options: StreamOptions) -> int:
    """Ask once, write the answer as it arrives (or one JSON document), return the exit code."""
    from relaycli.pipeline import Ask

    ask = Ask(
        model=options.model,
        messages=(Message("user", read_prompt(options.prompt, streams)),),
        system=options.system,
        temperature=options.temperature,
        max_tokens=options.max_tokens,
        explicit=options.model_explicit,
        params=options.params,
    )
    sink = TextSink(streams.stdout)
    priority: Priority = "high" if streams.stdout_isatty else "normal"  # a person at a terminal waits first

    def keep(delta: Delta) -> None:
        """--json shows nothing while the answer arrives: the document carries the answer's text."""

    try:
        if options.json_out:
            answer = pipeline.run(
                ask,
                keep,
                profile=profile,
                command="stream",
                shown=lambda: False,
                cache=options.cache,
                priority=priority,
            )
            _write_document(streams, to_json(answer))
        else:
            answer = pipeline.run(
                ask,
                sink,
                profile=profile,
                command="stream",
                shown=lambda: sink.wrote,
                cache=options.cache,
                priority=priority,
            )
            sink.finish()
    except OutputClosed:
        return 0
    except (RelayError, KeyboardInterrupt) as exc:
        if options.json_out:
            _write_failure(streams, exc, profile, options.model)
        sink.finish()
        raise
    if options.verbose:
        streams.stderr.write(summary(answer) + "\n")
    elif answer.cache is not None and streams.stderr_isatty and not options.json_out:
        streams.note(hit_line(answer))
    return 0


def hit_line(answer: Answer) -> str:
    """``answered from the cache (stored 3 min ago, saved $0.0012); --refresh asks again``"""
    from relaycli.config.cache import format_duration

    info = answer.cache
    assert info is not None
    saved = f", saved {_saved(answer)}" if info.saved_usd is not None else ""
    return f"answered from the cache (stored {format_duration(info.age_s)} ago{saved}); --refresh asks again"


def _saved(answer: Answer) -> str:
    info = answer.cache
    assert info is not None and info.saved_usd is not None
    text = format_money(info.saved_usd, "USD")
    billing = answer.profile.billing
    if (billing.currency != "USD" or billing.per_usd != 1) and info.saved_billed is not None:
        text += f" ({format_money(info.saved_billed, billing.currency)} billed)"
    return text


def _write_failure(streams: Streams, exc: RelayError | KeyboardInterrupt, profile: Profile, model: str) -> None:
    """``--json`` still prints one document when the request failed or was interrupted: the partial text,
    ``finish_reason`` null and an ``error`` object (the message also goes to stderr as usual)."""
    with contextlib.suppress(OutputClosed, OutputFailed):  # the failure itself is what gets reported
        _write_document(streams, failure_json(exc, profile, model))


def failure_json(exc: BaseException, profile: Profile, model: str) -> dict[str, object]:
    """The JSON document of a request that failed or was interrupted: what arrived before it (every figure
    unknown when nothing did), ``finish_reason`` null and the ``error`` object."""
    from relaycli.pipeline import Answer, partial_answer

    answer = partial_answer(exc) or Answer(  # nothing came back: every figure unknown
        result=Result(text="", model=None, finish_reason=None, usage=Usage(), request_id=None, timing=Timing()),
        profile=profile,
        model_asked=model,
        cost_usd=None,
        billed=None,
    )
    doc = to_json(answer)
    doc["finish_reason"] = None
    doc["error"] = error_json(exc)
    return doc


def error_json(exc: BaseException) -> dict[str, object]:
    """``{"class", "message", "exit_code"}`` of a failure: a RelayError's kind, ``Interrupted`` for Ctrl-C,
    SIGTERM or SIGHUP (130, 143, 129), else the exception's type name (exit 1)."""
    from relaycli.errors import ExitCode, interrupt_exit_code

    if isinstance(exc, RelayError):
        return {"class": exc.kind, "message": exc.message, "exit_code": int(exc.exit_code)}
    if isinstance(exc, KeyboardInterrupt):
        return {"class": "Interrupted", "message": "interrupted", "exit_code": interrupt_exit_code(exc)}
    return {"class": type(exc).__name__, "message": str(exc) or type(exc).__name__, "exit_code": int(ExitCode.ERROR)}


def _write_document(streams: Streams, doc: dict[str, object]) -> None:
    """The one JSON document on stdout (a reader that left ends quietly; a full disk is an error)."""
    from relaycli.output.sinks import output_failed, silence

    try:
        streams.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
        streams.stdout.flush()
    except BrokenPipeError:
        silence(streams.stdout)
        raise OutputClosed() from None
    except OSError as exc:
        raise output_failed(streams.stdout, exc) from exc


def to_json(answer: Answer) -> dict[str, object]:
    r, u = answer.result, answer.result.usage
    return {
        "text": r.text,
        "model": r.model or answer.profile.resolve_model(answer.model_asked),
        "model_requested": answer.model_asked,
        "profile": answer.profile.name,
        "finish_reason": r.finish_reason,
        "usage": {
            "prompt_tokens": u.prompt_tokens,
            "completion_tokens": u.completion_tokens,
            "cached_tokens": u.cached_tokens,
            "cache_write_tokens": u.cache_write_tokens,
            "cache_write_1h_tokens": u.cache_write_1h_tokens,
        },
        "cost": {
            "usd": decimal_string(answer.cost_usd),
            "billed": decimal_string(answer.billed),
            "currency": answer.profile.billing.currency,
        },
        "latency_ms": _round(r.timing.latency_ms),
        "ttft_ms": _round(r.timing.ttft_ms),
        "retries": r.retries,
        "cached": answer.cached,
        "cache": _cache_json(answer),
        "request_id": r.request_id,
    }


def _cache_json(answer: Answer) -> dict[str, object] | None:
    info = answer.cache
    if info is None:
        return None
    return {
        "age_s": round(info.age_s, 3),
        "key": info.key,
        "saved": {"usd": decimal_string(info.saved_usd), "billed": decimal_string(info.saved_billed)},
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
    line = f"{model} · {answer.profile.name} · {tokens} · {cost} · {ttft} · {latency}{retries}"
    return f"{line} · {hit_line(answer)}" if answer.cache is not None else line


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def read_stdin(streams: Streams) -> str:
    """All of stdin as text. UTF-8 (a BOM is dropped) or UTF-16 with a BOM; bytes that are not valid UTF-8
    are replaced with U+FFFD, and a warning says how many, rather than failing later."""
    raw = getattr(streams.stdin, "buffer", None)
    if raw is None:
        return streams.stdin.read()
    data = raw.read()
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                break
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        bad = text.count("\ufffd") - data.decode("utf-8", errors="ignore").count("\ufffd")
        streams.warn(f"stdin is not valid UTF-8: {bad} byte sequence{'s' if bad != 1 else ''} replaced with U+FFFD")
        return text
