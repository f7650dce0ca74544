"""Turn a finished, failed, interrupted or truncated request into one ledger row (``build_row``, pure), and
write it (``Recorder``)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from relaycli.config.profile import Profile
from relaycli.datatypes import Result, Usage
from relaycli.errors import APIError, RelayError
from relaycli.ledger import Ledger, LedgerRow, utc_timestamp
from relaycli.usage.prices import PriceTable, billed, cost_usd

__all__ = ["OUTCOMES", "Recorder", "build_row"]

OUTCOMES = frozenset({"ok", "error", "interrupted", "truncated"})
_FREE = Decimal(0)  # what a request answered from the response cache costs


def build_row(
    *,
    command: str,
    profile: Profile,
    model_requested: str,
    result: Result | None,
    outcome: str,
    error: BaseException | None,
    prices: PriceTable,
    tag: str | None = None,
    now: Callable[[], datetime] | None = None,
    cached: bool = False,
) -> LedgerRow:
    """The ledger row for one request.

    The price is looked up by the model the endpoint says answered, else by the one requested. Cost is
    ``None`` when the model is unpriced or the usage unknown; the billed amount follows the profile's
    ``billing``. ``result`` may be partial (truncated or interrupted streams) or ``None`` (nothing came
    back).

    ``cached``: the answer came from the disk response cache, ``result`` being the stored one (its usage as
    the endpoint first reported it). Nothing was sent, so the cost is 0 (also for an unpriced model), and
    what the request would have cost at the current price becomes its saving (``None`` when unknown).
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    usage = result.usage if result is not None else Usage()
    answered = result.model if result is not None else None
    price = (prices.lookup(answered) if answered else None) or prices.lookup(model_requested)
    usd = cost_usd(usage, price)
    amount = billed(usd, profile.billing) if usd is not None else None
    spent: tuple[Decimal | None, Decimal | None] = (usd, amount)
    saved: tuple[Decimal | None, Decimal | None] = (None, None)
    if cached:  # nothing was sent: it costs nothing, and what it would have cost is its saving
        spent, saved = (_FREE, _FREE), spent
    api_error = error if isinstance(error, APIError) else None
    timing = result.timing if result is not None else None
    return LedgerRow(
        ts=utc_timestamp((now or _utcnow)()),
        command=command,
        profile=profile.name,
        host=profile.host,
        protocol=profile.protocol,
        model_requested=model_requested,
        model_answered=answered,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cached_tokens=usage.cached_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        cache_write_1h_tokens=usage.cache_write_1h_tokens,
        usage_raw=_json(usage.raw),
        price_source=price.source if price is not None else None,
        price_json=_json(price.as_dict()) if price is not None else None,
        cost_usd=spent[0],
        cost_billed=spent[1],
        currency=profile.billing.currency,
        per_usd=profile.billing.per_usd,
        latency_ms=timing.latency_ms if timing is not None else None,
        ttft_ms=timing.ttft_ms if timing is not None else None,
        retries=result.retries if result is not None else int(getattr(error, "retries", 0) or 0),
        http_status=(api_error.status if api_error is not None else None)
        or (result.status if result is not None else None),
        outcome=outcome,
        error_class=_error_class(error),
        request_id=(result.request_id if result is not None else None)
        or (api_error.request_id if api_error is not None else None),
        finish_reason=result.finish_reason if result is not None else None,
        tag=tag,
        cached=cached,
        saved_usd=saved[0],
        saved_billed=saved[1],
    )


def _sentence(message: str) -> str:
    """A message continued after a colon starts in lower case ("usage not recorded: cannot open ...")."""
    return message[:1].lower() + message[1:] if message[:2].istitle() else message


def _error_class(error: BaseException | None) -> str | None:
    if error is None:
        return None
    if isinstance(error, RelayError):
        return error.kind
    return type(error).__name__


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _json(value: object) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


class Recorder:
    """Writes ledger rows for the pipeline. Safe to call from several threads at once (``relay batch`` and
    ``relay serve`` run requests concurrently): the ledger is opened once, and each write and budget query
    holds a lock. A ledger problem is a warning, never the reason a request fails.

    ``deferred``: rows are written off the request path, by one thread, in small batches (at most
    ``batch_rows`` rows or ``every_s`` seconds apart), so many concurrent requests do not each wait for a
    transaction. Whoever reads the ledger through ``ledger()`` (budgets) first gets every queued row
    written, and ``close`` writes what is left: a process that ends normally, by Ctrl-C or SIGTERM, loses
    none.
    """

    def __init__(
        self,
        *,
        ledger: Callable[[], Ledger],
        prices: Callable[[], PriceTable],
        now: Callable[[], datetime] | None = None,
        deferred: bool = False,
        every_s: float = 0.05,
        batch_rows: int = 64,
    ) -> None:
        self._open = ledger
        self._prices = prices
        self._table: PriceTable | None = None
        self._now = now or _utcnow
        self._lock = threading.RLock()
        self._deferred = deferred
        self._every_s = every_s
        self._batch_rows = batch_rows
        self._queue: list[tuple[LedgerRow, Callable[[str], None]]] = []
        self._wake = threading.Condition()
        self._writer: threading.Thread | None = None
        self._closing = False

    def ledger(self) -> Ledger:
        self.flush()
        with self._lock:
            return self._open()

    def prices(self) -> PriceTable:
        table = self._table
        if table is None:  # loaded once; then read without the lock the ledger writes hold
            with self._lock:
                table = self._table = self._prices()
        return table

    def record(
        self,
        *,
        command: str,
        profile: Profile,
        model_requested: str,
        result: Result | None,
        outcome: str,
        error: BaseException | None,
        tag: str | None,
        warn: Callable[[str], None],
        cached: bool = False,
    ) -> tuple[LedgerRow, bool]:
        """Build and write one row: the row (its costs hold whether or not it was written) and whether it was
        written (``warn`` says why not; deferred: whether it was queued). ``cached``: answered from the
        response cache (see :func:`build_row`)."""
        row = build_row(
            command=command,
            profile=profile,
            model_requested=model_requested,
            result=result,
            outcome=outcome,
            error=error,
            prices=self.prices(),
            tag=tag,
            now=self._now,
            cached=cached,
        )
        if self._deferred:
            self._enqueue(row, warn)
            return row, True
        return row, self._write([row], warn)

    def flush(self) -> None:
        """Write every queued row now (deferred mode)."""
        if not self._deferred:
            return
        with self._wake:
            batch, self._queue = self._queue, []
        self._write_batch(batch)

    def close(self) -> None:
        """Write what is queued and stop the writer."""
        if not self._deferred:
            return
        with self._wake:
            self._closing = True
            self._wake.notify_all()
        writer = self._writer
        if writer is not None:
            writer.join()
        self.flush()

    # -- deferred writing --------------------------------------------------------------------------
    def _enqueue(self, row: LedgerRow, warn: Callable[[str], None]) -> None:
        with self._wake:
            self._queue.append((row, warn))
            if self._writer is None:
                self._writer = threading.Thread(target=self._drain, name="relay-ledger", daemon=True)
                self._writer.start()
            if len(self._queue) == 1 or len(self._queue) >= self._batch_rows:  # the writer sleeps until a row comes
                self._wake.notify_all()

    def _drain(self) -> None:
        while True:
            with self._wake:
                if not self._queue and not self._closing:
                    self._wake.wait()
                if self._closing:
                    return  # close() writes the rest
                if len(self._queue) < self._batch_rows:
                    self._wake.wait(self._every_s)
                batch, self._queue = self._queue, []
            self._write_batch(batch)

    def _write_batch(self, batch: list[tuple[LedgerRow, Callable[[str], None]]]) -> None:
        if batch:
            self._write([row for row, _ in batch], batch[-1][1])

    def _write(self, rows: list[LedgerRow], warn: Callable[[str], None]) -> bool:
        try:
            with self._lock:
                self._open().record_many(rows)
        except RelayError as exc:
            warn(f"usage not recorded: {_sentence(exc.message)}")
            return False
        except OSError as exc:
            warn(f"usage not recorded: {exc}")
            return False
        return True
