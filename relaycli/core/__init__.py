"""The client core: wire protocols, SSE decoding, retries, timeouts, timing. The only user of httpx.

httpx's package import also loads its command-line tool (``httpx._main``), which imports click and rich:
about 40 ms of every request's start-up, for a tool relay never runs. Marking that module as absent makes
httpx fall back to its own stub for it, so importing httpx costs only the client.
"""

import sys

sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
