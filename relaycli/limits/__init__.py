"""Client-side rate limits and the circuit breaker, shared by every relay process of the user.

``bucket`` (token-bucket arithmetic), ``breaker`` (the circuit's state machine) and ``headers`` (what a
server says about its limits) are pure; ``store`` keeps their state in ``limits.db`` (SQLite, beside the
cache); ``guard`` (``SharedGuard``) is the pipeline's guard stage; ``status`` describes it for people.
"""
