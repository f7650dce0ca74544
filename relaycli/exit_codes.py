"""Process exit codes (CONTRACT.md). Standard library only."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    CONFIG = 3
    AUTH = 4
    ENDPOINT = 5
    TIMEOUT = 6
    NETWORK = 7
    RATE_LIMITED = 8
    INTERRUPTED = 130
