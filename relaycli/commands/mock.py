"""``relay mock-server``: the built-in local relay, in the foreground."""

from __future__ import annotations

import typer


def mock_server(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Port; the `mock` profile expects 8765."),
    ttft: float = typer.Option(0.0, "--ttft", min=0, help="Seconds added before the first token."),
    token_delay: float = typer.Option(0.02, "--token-delay", min=0, help="Seconds between tokens."),
    words: int = typer.Option(40, "--words", min=1, help="Answer length in tokens."),
    fail: int | None = typer.Option(None, "--fail", help="Answer with this HTTP status."),
    retry_after: float | None = typer.Option(None, "--retry-after", help="retry-after seconds with --fail."),
    fail_times: int = typer.Option(0, "--fail-times", min=0, help="Only the first N requests fail (0: all)."),
    stop_after: int | None = typer.Option(None, "--stop-after", help="Close the stream after N tokens."),
    stall_after: int | None = typer.Option(None, "--stall-after", help="Go silent after N tokens."),
    require_key: str | None = typer.Option(None, "--require-key", help="Answer 401 without this key."),
    directives: str = typer.Option("", "--set", help="More knobs as directives, e.g. 'no_usage,keepalive=1'."),
) -> None:
    """Run the built-in local relay until Ctrl-C.

    It speaks the OpenAI (/v1/chat/completions) and Anthropic (/v1/messages) wire formats.

    Any request can change its own behaviour with an `X-Mock: DIRECTIVES` header or a `[[mock: DIRECTIVES]]`
    tag in the prompt, e.g. relay stream -p mock '[[mock: fail=429 retry_after=1 fail_times=1]] hi'.
    Directives: ttft, token_delay, words, fail, retry_after, retry_after_ms, should_retry, fail_times,
    stop_after, malformed_after, error_after, stall_after, reset_after, reasoning, keepalive, no_usage, html,
    reject_stream_options, require_key, seed, ttft_dist, token_delay_dist, dist_seed, pause, pause_after,
    cache_write_5m, cache_write_1h (e.g. --set 'ttft_dist=lognormal:0.05:0.5 dist_seed=1' for seeded random TTFTs).
    """
    import sys

    from relaycli.errors import UsageError
    from relaycli.mock.options import MockOptions
    from relaycli.mock.server import serve

    options = MockOptions(
        ttft=ttft,
        token_delay=token_delay,
        words=words,
        fail=fail,
        retry_after=retry_after,
        fail_times=fail_times,
        stop_after=stop_after,
        stall_after=stall_after,
        require_key=require_key,
    )
    try:
        options = options.with_directives(directives)
    except ValueError as exc:
        raise UsageError(f"--set: {exc}") from None

    def ready(url: str) -> None:
        sys.stderr.write(
            f"relay mock-server: listening on {url} (OpenAI: {url}/v1, Anthropic: {url}); Ctrl-C to stop\n"
        )
        sys.stderr.flush()

    try:
        serve(host, port, options, ready=ready)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="pick another --port, and point the mock profile at it with RELAY_MOCK_URL",
        ) from None
