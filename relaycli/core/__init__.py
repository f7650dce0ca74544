"""The client core: wire protocols, SSE decoding, retries, timeouts, timing. The only user of httpx.

Two optional imports of httpx and httpcore cost every request's start-up without serving relay: httpx's
package import loads its command-line tool (``httpx._main``, which imports click and rich, ~40 ms), and
httpcore imports trio, when it is installed, for async code running under trio (~25 ms), which relay never
does. Marking both as absent makes each library take the path it takes when they are not installed.
"""

import sys

for _name in ("httpx._main", "trio"):
    sys.modules.setdefault(_name, None)  # type: ignore[arg-type]
