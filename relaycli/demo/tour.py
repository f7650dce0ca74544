"""The tour behind ``relay demo``: real ``relay`` commands, run as a user would type them, against a
local relay started for the occasion, in a throwaway RELAY_HOME."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from relaycli.demo.relays import BENCH_ARGS, start_demo_relays
from relaycli.errors import ExitCode


@dataclass(frozen=True)
class Step:
    title: str
    args: tuple[str, ...]
    stdin: str | None = None
    expect: int = 0


STEPS = (
    Step(
        "The profiles relay knows: `mock` is the built-in local relay (no key needed); `direct` and `relay` "
        "are two more local relays, for the benchmark at the end.",
        ("config", "profiles"),
    ),
    Step("What the endpoint offers, with list prices per 1M tokens.", ("models", "-p", "mock")),
    Step(
        "One answer, streamed as it arrives; -v adds a summary line on stderr.",
        ("stream", "-p", "mock", "-v", "What is an AI API relay, in one paragraph?"),
    ),
    Step(
        "The same question again: answered at once from the response cache, delta by delta, at no cost; "
        "the summary says what it saved (--refresh asks again, --no-cache skips the cache).",
        ("stream", "-p", "mock", "-v", "What is an AI API relay, in one paragraph?"),
    ),
    Step("What the cache holds and has saved so far.", ("cache", "stats")),
    Step(
        "The Anthropic wire format, with the prompt on stdin.",
        ("stream", "-p", "mock-anthropic", "--max-tokens", "24", "-v", "Summarise this:"),
        stdin="Relays resell model access at a discount and route to many providers behind one key.\n",
    ),
    Step(
        "A 429 with retry-after: relay waits as asked and retries.",
        ("stream", "-p", "mock", "-v", "[[mock: fail=429 retry_after=0.5 fail_times=1]] Say hello"),
    ),
    Step(
        "A model the endpoint does not have: a clear error with the closest names (exit 1).",
        ("stream", "-p", "mock", "-m", "gpt-4.2", "hello"),
        expect=ExitCode.ERROR,
    ),
    Step(
        "A stream cut off mid-answer: the partial text is kept, exit 5, the row marked truncated.",
        ("stream", "-p", "mock", "[[mock: stop_after=6]] Tell me a long story"),
        expect=ExitCode.ENDPOINT,
    ),
    Step(
        "A chat, one message per line from stdin (on a terminal: markdown, history, /help); each answer "
        "counts the messages it was sent, and `relay chat -c` would go on from here.",
        ("chat", "-p", "mock"),
        stdin="Hello!\nAnd a follow-up question.\n/cost\n",
    ),
    Step(
        "Many prompts at once: one JSON line out per input line, in input order, 4 in flight (a progress bar "
        "on a terminal, a summary at the end). One prompt fails on purpose, so the exit code is its failure's; "
        "`--resume OUT` would send only that one again.",
        ("batch", "-p", "mock", "-c", "4"),
        stdin="What is a relay?\nWhy use one?\n[[mock: fail=503]] This one fails\nHow much does it save?\n",
        expect=ExitCode.ENDPOINT,
    ),
    Step(
        "What the requests above cost, per model: tokens, list price in USD, the billed amount. Failed "
        "requests are counted (one refused before any usage cost nothing); a request whose model has no "
        "price, or whose usage is unknown, is reported as unpriced, never as $0.",
        ("cost", "--by", "model"),
    ),
    Step("Every request above, in the usage ledger (no prompt or answer stored).", ("log",)),
    Step(
        "A slow direct endpoint and a faster relay on the same prompts, interleaved: percentiles, and the "
        "relay-vs-direct table with 95% confidence intervals.",
        BENCH_ARGS,
    ),
)


def run_demo(*, keep: bool, fast: bool) -> int:
    from relaycli.mock.options import MockOptions
    from relaycli.mock.server import MockServer

    home = tempfile.mkdtemp(prefix="relay-demo-")
    bold = sys.stdout.isatty()
    paced = MockOptions(ttft=0.25, token_delay=0.02, words=60)
    server = MockServer(port=0, options=MockOptions(words=60) if fast else paced)
    server.start()
    bench_relays = start_demo_relays(home, fast=fast)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    env.update(RELAY_HOME=home, RELAY_MOCK_URL=server.url, PYTHONUNBUFFERED="1")
    failures = 0
    try:
        print(f"relay demo: a local relay on {server.url}, RELAY_HOME={home}\n", flush=True)
        for number, step in enumerate(STEPS, start=1):
            shown = " ".join(_quote(a) for a in step.args)
            pipe = f"printf {_quote(step.stdin.replace(chr(10), chr(92) + 'n'))} | " if step.stdin else ""
            header = f"[{number}/{len(STEPS)}] {step.title}\n$ {pipe}relay {shown}"
            print(f"\033[1m{header}\033[0m" if bold else header, flush=True)
            done = subprocess.run(
                [sys.executable, "-m", "relaycli", *step.args],
                env=env,
                input=step.stdin,
                text=True,
                stdin=None if step.stdin is not None else subprocess.DEVNULL,
            )
            if done.returncode != step.expect:
                failures += 1
                print(f"(exit {done.returncode}, expected {step.expect})", flush=True)
            elif done.returncode:
                print(f"(exit {done.returncode}, as expected)", flush=True)
            print(flush=True)
        print("That's relay. Next: `relay config init` to add your own relay and key.")
    finally:
        server.stop()
        for relay in bench_relays:
            relay.stop()
        if keep:
            print(f"kept RELAY_HOME={home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    return 1 if failures else 0


def _quote(text: str | None) -> str:
    import shlex

    return shlex.quote(text or "")
