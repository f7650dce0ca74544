"""``python -m relaycli.mock``: the local relay in a process of its own, for ground-truth measurements.

    python -m relaycli.mock [--host 127.0.0.1] [--port 0] [--set DIRECTIVES] [--log FILE]

Prints its base URL on the first line of stdout once it listens, then serves until SIGTERM or Ctrl-C.
With ``--log``, every request's ``MockRecord`` (timestamps from ``time.perf_counter_ns``) is appended to
FILE as one JSON line when the request ends. Running the server in its own process keeps its work off
the measuring client's interpreter lock.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from types import FrameType

from relaycli.mock.options import MockOptions
from relaycli.mock.server import serve


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m relaycli.mock", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--set", dest="directives", default="", help="knobs as directives, e.g. 'ttft=0.05'")
    parser.add_argument("--log", default=None, help="append one JSON line per request to this file")
    args = parser.parse_args(argv)
    try:
        options = MockOptions().with_directives(args.directives)
    except ValueError as exc:
        parser.error(str(exc))
    signal.signal(signal.SIGTERM, _interrupt)

    def ready(url: str) -> None:
        sys.stdout.write(url + "\n")
        sys.stdout.flush()

    with contextlib.suppress(KeyboardInterrupt):
        serve(args.host, args.port, options, ready=ready, log_path=args.log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
