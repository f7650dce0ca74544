"""What every ``relay bench`` metric means, as printed in ``relay bench --help`` and in the JSON config block.
Standard library only (read by ``--help``). Timestamps are ``time.perf_counter_ns()``; t_send is when the
request was handed to the client's socket loop, after any client-side queue."""

from __future__ import annotations

FORMULAS: dict[str, str] = {
    "ttfb_ms": "TTFB = t_headers - t_send",
    "ttft_ms": "TTFT = t_first_token - t_send (first event with text, reasoning or tool-call content)",
    "latency_ms": "latency = t_end - t_send",
    "tpot_ms": "TPOT = (t_last_token - t_first_token) / (output_tokens - 1), if output_tokens >= 2",
    "chunk_gap_ms": "chunk gap = time between consecutive content events, pooled",
    "output_tokens_per_s": "output tokens/s = output_tokens / (t_end - t_send), per request",
    "throughput_tokens_per_s": "throughput = sum(output_tokens) / (max t_end - min t_send)",
    "schedule_lag_ms": "schedule lag = t_send - t_sched (--rate)",
    "corrected_latency_ms": "corrected latency = t_end - t_sched (--rate)",
    "cost_usd": "cost = sum(request cost) / ok requests; per 1k output tokens likewise",
}

PERCENTILES = "linear interpolation between order statistics (Hyndman-Fan type 7, NumPy's default)"
OUTPUT_TOKENS = "usage.completion_tokens; the count of content events, marked estimated, when absent"
