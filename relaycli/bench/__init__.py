"""``relay bench``: the latency of one or more targets on the same workload, with honest statistics.

- ``stats``: percentiles (type 7), summaries, bootstrap confidence intervals, verdicts (pure).
- ``analyze``: a finished ``core.engine.TimedRequest`` -> a ``Record`` (event stream parsed after the fact).
- ``runner``: closed and open loop scheduling, warm-up, interleaving, self-checks (injected clock).
- ``setup``: targets, prompts and request bytes from profiles; the wires the engine connects to.
- ``results``: records -> per-target metrics and comparisons; the JSON document; ledger rows.
- ``report``: tables, the relay-vs-direct table, histograms, CSV, the live progress line.
- ``compare``: two saved runs side by side.

See BENCH.md in the project's docs for what each metric means.
"""
