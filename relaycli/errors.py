"""The RelayError tree. Every failure relay reports is one of these; ``cli.py`` turns it into an exit code.

::

    RelayError                      exit 1   anything else
    ├── UsageError                  exit 2   bad flag value, empty prompt
    ├── ConfigError                 exit 3   malformed file, unknown profile, missing key
    │   ├── ProfileNotFound
    │   └── MissingKey
    ├── BudgetExceeded              exit 3   a profile's budget with budget_action = "block"
    ├── APIError                    exit 1   the endpoint answered with an error (400, 404, 422, ...)
    │   ├── AuthError               exit 4   401 / 403
    │   ├── RateLimited             exit 8   429 after retries, or a retry-after too long to honour
    │   └── EndpointError           exit 5   5xx after retries; broken, malformed or HTML response
    │       ├── StreamError         exit 5   an error event inside a 200 stream
    │       └── TruncatedResponse   exit 5   the stream stopped before its end marker
    ├── CacheMiss                   exit 1   --cache-only and no stored answer
    ├── CircuitOpen                 exit 5   a profile's circuit breaker is open (exit 7 after network failures)
    ├── OutputFailed                exit 1   stdout could not be written (a full disk)
    ├── RelayTimeout                exit 6   connect/read/total/content-idle limit reached
    └── NetworkError                exit 7   DNS, refused or reset connection, TLS

Messages say what happened and what to do next. They never contain a key.
Standard library only: this module is imported on every path.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes (CONTRACT.md)."""

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


class RelayError(Exception):
    """Base of every error relay reports to the user."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    @property
    def kind(self) -> str:
        """A short, stable class name for the ledger's error_class column."""
        return type(self).__name__


class UsageError(RelayError):
    exit_code = ExitCode.USAGE


class ConfigError(RelayError):
    exit_code = ExitCode.CONFIG


class ProfileNotFound(ConfigError):
    pass


class MissingKey(ConfigError):
    pass


class BudgetExceeded(ConfigError):
    pass


class APIError(RelayError):
    """The endpoint answered, with an error."""

    exit_code = ExitCode.ERROR

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.request_id = request_id


class AuthError(APIError):
    exit_code = ExitCode.AUTH


class RateLimited(APIError):
    exit_code = ExitCode.RATE_LIMITED


class EndpointError(APIError):
    exit_code = ExitCode.ENDPOINT


class StreamError(EndpointError):
    """An error event inside a 200 stream (OpenRouter/LiteLLM ``{"error":...}``, vLLM, Anthropic ``error``)."""

    def __init__(
        self,
        message: str,
        *,
        error_type: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, status=status, request_id=request_id, hint=hint)
        self.error_type = error_type


class TruncatedResponse(EndpointError):
    pass


class CircuitOpen(RelayError):
    """A profile's circuit breaker is open, so nothing was sent: exit 5, or 7 when the failures that opened
    it were network failures."""

    def __init__(self, message: str, *, hint: str | None = None, network: bool = False) -> None:
        super().__init__(message, hint=hint)
        self.exit_code = ExitCode.NETWORK if network else ExitCode.ENDPOINT


class CacheMiss(RelayError):
    """``--cache-only`` was asked and the cache holds no answer to the request; exit 1."""


class OutputFailed(RelayError):
    """relay's own output could not be written (a full disk under stdout); exit 1."""


class RelayTimeout(RelayError):
    exit_code = ExitCode.TIMEOUT


class NetworkError(RelayError):
    exit_code = ExitCode.NETWORK


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (``timeout``, ``docker stop``, a closed terminal), handled like Ctrl-C: the request
    in flight is recorded as interrupted. The process exits with 128 + the signal's number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def interrupt_exit_code(exc: KeyboardInterrupt) -> int:
    """130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP."""
    return 128 + exc.signum if isinstance(exc, Terminated) else int(ExitCode.INTERRUPTED)


class OutputClosed(Exception):
    """The reader of relay's output went away (``relay stream ... | head -1``): a normal end, not an error."""
