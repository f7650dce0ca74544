"""``relay bench``: latency of one or more targets on the same prompts, side by side, with confidence."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TextIO

import typer


def bench(
    profile: list[str] | None = typer.Option(None, "-p", "--profile", help="Profile to benchmark (repeat it)."),
    model: list[str] | None = typer.Option(None, "-m", "--model", help="Model or alias (repeat it)."),
    target: list[str] | None = typer.Option(None, "-T", "--target", help="PROFILE:MODEL pair (repeat it)."),
    old_target: list[str] | None = typer.Option(None, "-t", hidden=True, help="Deprecated spelling of -T/--target."),
    prompt: list[str] | None = typer.Option(None, "--prompt", help="Prompt text (repeat it)."),
    prompts: Path | None = typer.Option(None, "--prompts", help="File: one prompt a line, or JSON lines."),
    n: int | None = typer.Option(None, "-n", min=1, help="Measured requests per target [default: 50]."),
    concurrency: int | None = typer.Option(
        None, "-c", "--concurrency", min=1, help="Closed loop: requests in flight [1]. With --rate: the most."
    ),
    rate: float | None = typer.Option(None, "--rate", min=0.001, help="Open loop: Poisson arrivals per second."),
    seed: int = typer.Option(0, "--seed", help="Seed of the target order, arrivals and bootstrap."),
    warmup: int = typer.Option(1, "--warmup", min=0, help="Warm-up requests per target (not measured); 0: none."),
    max_tokens: int = typer.Option(64, "--max-tokens", min=1, help="Cap on output tokens per request."),
    duration: float | None = typer.Option(
        None, "--duration", min=0.001, max=7 * 86400, help="Stop sending after SECONDS (at most a week)."
    ),
    baseline: str | None = typer.Option(None, "--baseline", help="Target the others are compared to [first]."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON document."),
    csv_out: bool = typer.Option(False, "--csv", help="Print CSV (per-target statistics)."),
    raw: bool = typer.Option(False, "--raw", help="With --json/--csv: every request, not just statistics."),
    histogram: bool = typer.Option(False, "--histogram", help="A text histogram of latency per target."),
    save: Path | None = typer.Option(None, "--save", help="Also write the JSON, every request included, here."),
    compare: tuple[Path, Path] | None = typer.Option(None, "--compare", help="Compare two saved runs: OLD NEW."),
) -> None:
    """Benchmark the latency of profiles or models side by side.

    Every target gets the same prompts, interleaved in a seeded, shuffled order, after a warm-up. Timed at
    the socket (perf_counter ns, t_send = when the request was handed to the socket loop):

    \b
      TTFB = t_headers - t_send
      TTFT = t_first_token - t_send (first event with text, reasoning or tool-call content)
      latency = t_end - t_send
      TPOT = (t_last_token - t_first_token) / (output_tokens - 1), if output_tokens >= 2
      chunk gap = time between consecutive content events, pooled
      output tokens/s = output_tokens / (t_end - t_send), per request
      throughput = sum(output_tokens) / (max t_end - min t_send)
      schedule lag = t_send - t_sched (--rate)
      corrected latency = t_end - t_sched (--rate)
      cost = sum(request cost) / ok requests; per 1k output tokens likewise

    Percentiles interpolate linearly (type 7); p95 is flagged below n = 72, p99 below n = 367. Differences
    against the baseline get a bootstrap 95% CI. Errors are counted by class, never in the percentiles.
    Every request is recorded in the ledger, tagged bench.
    """
    from relaycli.bench.limits import finite
    from relaycli.bench.report import ProgressLine, raw_csv, render, render_comparisons, to_csv
    from relaycli.bench.session import BenchOptions, run_bench
    from relaycli.context import AppContext
    from relaycli.errors import UsageError

    ctx = AppContext()
    if json_out and csv_out:
        raise UsageError("--json and --csv exclude each other")
    finite("--rate", rate)
    finite("--duration", duration)
    if old_target:
        ctx.warn(
            "-t is deprecated in relay bench and will be removed: use -T/--target PROFILE:MODEL "
            "(-t is the temperature in relay stream and relay chat)"
        )
        target = [*(target or ()), *old_target]
    if compare is not None:
        from relaycli.bench.compare import compare_runs

        result = compare_runs(compare[0], compare[1], seed=seed)
        for warning in result["warnings"]:
            ctx.warn(warning)
        if json_out:
            _emit(ctx.stdout, _dumps(result) + "\n")
        else:
            buf = io.StringIO()
            render_comparisons(buf, result["comparisons"], isatty=ctx.stdout_isatty)
            _emit(ctx.stdout, buf.getvalue())
        return
    progress = ProgressLine(ctx.stderr, enabled=_isatty(ctx.stderr))
    opts = BenchOptions(
        profiles=profile or (),
        models=model or (),
        pairs=target or (),
        prompts=prompt or (),
        prompts_file=prompts,
        n=n if n is not None or duration else 50,
        concurrency=concurrency,
        rate=rate,
        duration_s=duration,
        warmup=warmup,
        max_tokens=max_tokens,
        seed=seed,
        baseline=baseline,
    )
    try:
        run = run_bench(ctx.measure_services(), opts, progress=progress)
    finally:
        progress.close()
        ctx.close()
    for warning in run.document["warnings"]:
        ctx.warn(warning)
    code = run.exit_code
    if save is not None:
        from relaycli.paths import write_private

        try:  # 0600: a saved run names hosts, profiles and request ids, and is nobody else's to read
            write_private(save, _dumps({**run.document, "records": run.raw}) + "\n")
        except OSError as exc:
            ctx.warn(f"--save {save}: not written: {exc.strerror or exc}")
            code = code or 1
    if json_out:
        _emit(ctx.stdout, _dumps({**run.document, **({"records": run.raw} if raw else {})}) + "\n")
    elif csv_out:
        _emit(ctx.stdout, raw_csv(run.raw) if raw else to_csv(run.document))
    else:
        lat = (
            {
                t.label: [(r.t_end - r.t_send) / 1e6 for r in run.records if r.target == i and r.ok and not r.warmup]
                for i, t in enumerate(run.targets)
            }
            if histogram
            else None
        )
        buf = io.StringIO()
        render(buf, run.document, isatty=ctx.stdout_isatty, histogram=lat)
        _emit(ctx.stdout, buf.getvalue())
    raise typer.Exit(code)


def _emit(out: TextIO, text: str) -> None:
    """Write and flush; a reader that went away (``relay bench | head -1``) ends the command quietly with 0,
    the requests already recorded."""
    try:
        out.write(text)
        out.flush()
    except BrokenPipeError:
        from relaycli.output.sinks import silence

        silence(out)
        raise typer.Exit(0) from None


def _dumps(doc: object) -> str:
    import json

    return json.dumps(doc, ensure_ascii=False)


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False
