"""Client-side rate limits and the circuit breaker, shared by every relay process of the user.

``bucket`` (token-bucket arithmetic), ``breaker`` (the circuit's state machine), ``headers`` (what a
server says about its limits), ``learned`` (the server's request bucket from those headers) and ``state``
(values as stored) are pure; ``store`` keeps the state in ``limits.db`` (SQLite, beside the cache);
``guard`` (``SharedGuard``) is the pipeline's guard stage, ``notices`` what it says; ``status`` describes
it all for people (``relay ping``, ``relay config show``).
"""
