"""``relay stream`` without typer: the body every ``relay stream`` runs (``run``), and the common command
lines parsed by a small strict parser (``parse_quick``) so that they start without importing typer.

Start-up is a feature: a cache hit should cost about what ``relay --help`` does, and typer is a third of
that. ``parse_quick`` accepts only command lines whose meaning is certain (the flags of ``relay stream``
spelled out, each at most once, values that typer would take as they are); anything else (``--help``,
``-o``, ``--``, a flag it does not know, a value typer would reject) returns None, and typer parses the
line as always. A test parses a corpus of command lines both ways and requires the same result.
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from relaycli.context import AppContext
    from relaycli.pipeline.request import CacheUse

__all__ = ["parse_quick", "quick", "run"]

_VALUES = {
    "-p": "profile",
    "--profile": "profile",
    "-m": "model",
    "--model": "model",
    "-s": "system",
    "--system": "system",
    "-t": "temperature",
    "--temperature": "temperature",
    "--max-tokens": "max_tokens",
}
_FLAGS = {
    "--json": "json_out",
    "-v": "verbose",
    "--verbose": "verbose",
    "--no-cache": "no_cache",
    "--refresh": "refresh",
    "--cache-only": "cache_only",
    "--replay-timing": "replay_timing",
}
_DECIMAL = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)")
_WHOLE = re.compile(r"[1-9]\d{0,8}")


def parse_quick(argv: list[str]) -> dict[str, Any] | None:
    """The keyword arguments of ``run`` (without the context) for a plain ``relay stream`` command line, or
    None when typer must parse it."""
    values: dict[str, str] = {}
    flags: set[str] = set()
    prompt: list[str] = []
    args = iter(argv)
    for arg in args:
        if not arg.startswith("-"):
            prompt.append(arg)
            continue
        name, eq, attached = arg.partition("=")
        if name in _VALUES:
            field = _VALUES[name]
            value = attached if eq else next(args, None)
            if field in values or value is None or (not eq and value.startswith("-")):
                return None
            if eq and not name.startswith("--"):
                return None  # "-p=x" means the value "=x" to click
            values[field] = value
        elif arg in _FLAGS:
            flags.add(_FLAGS[arg])
        else:
            return None
    if len({"no_cache", "refresh", "cache_only"} & flags) > 1:
        return None
    temperature = values.get("temperature")
    if temperature is not None and not (_DECIMAL.fullmatch(temperature) and float(temperature) <= 2.0):
        return None
    max_tokens = values.get("max_tokens")
    if max_tokens is not None and not _WHOLE.fullmatch(max_tokens):
        return None
    from relaycli.pipeline.request import CacheUse

    return {
        "prompt": prompt,
        "profile": values.get("profile"),
        "model": values.get("model"),
        "system": values.get("system"),
        "temperature": float(temperature) if temperature is not None else None,
        "max_tokens": int(max_tokens) if max_tokens is not None else None,
        "params": {},
        "cache": CacheUse.from_flags(
            no_cache="no_cache" in flags,
            refresh="refresh" in flags,
            only="cache_only" in flags,
            paced="replay_timing" in flags,
        ),
        "json_out": "json_out" in flags,
        "verbose": "verbose" in flags,
    }


def quick(argv: list[str]) -> bool:
    """Run ``relay stream ARGV`` without typer when ``parse_quick`` can read it (then exit); False: it cannot."""
    parsed = parse_quick(argv)
    if parsed is None:
        return False
    from relaycli.context import AppContext
    from relaycli.entry import guarded

    guarded(lambda: sys.exit(run(AppContext(), **parsed)))
    return True


def run(
    ctx: AppContext,
    *,
    prompt: list[str],
    profile: str | None,
    model: str | None,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    params: dict[str, object] | None = None,
    cache: CacheUse | None = None,
    json_out: bool = False,
    verbose: bool = False,
) -> int:
    """``relay stream`` from a context: the profile and model chosen, then one request through the pipeline."""
    from relaycli.pipeline.request import CacheUse
    from relaycli.stream.run import StreamOptions, run_stream

    chosen = ctx.profile(profile)
    options = StreamOptions(
        prompt=prompt,
        model=ctx.model(chosen, model)[0],
        model_explicit=ctx.model_explicit(model),
        system=system,
        temperature=temperature,
        max_tokens=max_tokens,
        params=params or {},
        cache=cache or CacheUse.from_flags(),
        json_out=json_out,
        verbose=verbose,
    )
    try:
        return run_stream(ctx.pipeline, ctx.streams, chosen, options)
    finally:
        ctx.close()
