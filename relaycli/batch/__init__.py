"""``relay batch``: many prompts through the pipeline, one JSON line out per input line.

``input`` reads the prompts lazily (JSON lines or plain lines) and checks their ids; ``output`` builds the
output lines and writes them in input order through a bounded reorder buffer; ``resume`` reads an earlier
output file and compacts it; ``workers`` sends the requests from a thread pool; ``run`` is the main loop
(signals, progress, the end); ``tally`` counts what happened and picks the exit code; ``dryrun`` estimates
what a batch would cost without sending anything.
"""

from __future__ import annotations
