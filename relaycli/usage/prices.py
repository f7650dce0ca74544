"""Model prices and what a request cost. Pure and standard library only.

Prices are USD per 1M tokens, as exact ``Decimal``. They come from two places, in this order:

1. the config file's ``[prices."MODEL"]`` tables (``input``, ``output``, optional ``cached_input``,
   ``cache_write``, ``cache_write_1h``, ``context_window``), which win over
2. the built-in table ``relaycli/usage/data/prices.json``, a snapshot of the genai-prices package written by
   ``scripts/refresh_prices.py``. It is read only when a price is first needed, so commands that never
   price anything never pay for it.

A missing ``cached_input`` or ``cache_write`` price (``None``) means those tokens are billed at the
``input`` price: no discount and no surcharge is assumed when none is known. ``cache_write`` is the price
of a 5-minute prompt-cache write; a 1-hour write (reported apart by Anthropic only) costs
``cache_write_1h``, or twice the ``input`` price when that is unknown, as Anthropic bills it.

A model that is in neither place is *unpriced*: ``lookup`` returns ``None`` and ``cost_usd`` returns
``None`` -- never zero. Unknown usage (the endpoint did not report token counts) also gives ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation, localcontext
from pathlib import Path
from typing import Any

from relaycli.config.profile import Billing
from relaycli.datatypes import Usage
from relaycli.errors import ConfigError, RelayError

__all__ = ["Price", "PriceTable", "billed", "cost_usd", "SNAPSHOT_PATH"]

SNAPSHOT_PATH = Path(__file__).resolve().parent / "data" / "prices.json"
_PER = 6  # prices are per 10**6 tokens
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Price:
    """Prices of one model in USD per 1M tokens. ``None`` cache prices mean "billed as input"."""

    model: str
    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None
    cache_write: Decimal | None = None
    context_window: int | None = None
    source: str = ""
    note: str | None = None
    cache_write_1h: Decimal | None = None  # None: twice ``input``

    def as_dict(self) -> dict[str, str | None]:
        """The prices as decimal strings, for the ledger's ``price_json`` (enough to recompute a cost).

        ``cache_write_1h`` is there only when set, so a row costed with an unchanged price keeps the same
        ``price_json`` it was recorded with."""
        prices = {
            "model": self.model,
            "input": str(self.input),
            "output": str(self.output),
            "cached_input": None if self.cached_input is None else str(self.cached_input),
            "cache_write": None if self.cache_write is None else str(self.cache_write),
        }
        if self.cache_write_1h is not None:
            prices["cache_write_1h"] = str(self.cache_write_1h)
        return prices

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "") -> Price:
        """The inverse of :meth:`as_dict`."""

        def opt(key: str) -> Decimal | None:
            value = data.get(key)
            return None if value is None else Decimal(str(value))

        return cls(
            model=str(data.get("model", "")),
            input=Decimal(str(data["input"])),
            output=Decimal(str(data["output"])),
            cached_input=opt("cached_input"),
            cache_write=opt("cache_write"),
            cache_write_1h=opt("cache_write_1h"),
            source=source,
        )


def cost_usd(usage: Usage, price: Price | None) -> Decimal | None:
    """The exact list-price cost of ``usage`` in USD, or ``None`` when unpriced or the usage is unknown.

    ``usage.prompt_tokens`` includes cache reads and writes. Uncached input is what is left after taking
    both out (never below zero, should an endpoint report inconsistent counts); missing cache counts are
    zero once the prompt and completion counts are known. Of the writes, ``cache_write_1h_tokens`` are
    1-hour ones and the rest 5-minute ones (all of them when the split is unknown).
    """
    if price is None or usage.prompt_tokens is None or usage.completion_tokens is None:
        return None
    cached = usage.cached_tokens or 0
    written = usage.cache_write_tokens if usage.cache_write_tokens is not None else usage.cache_write_1h_tokens or 0
    written_1h = min(usage.cache_write_1h_tokens or 0, written)
    uncached = max(usage.prompt_tokens - cached - written, 0)
    cached_price = price.input if price.cached_input is None else price.cached_input
    write_price = price.input if price.cache_write is None else price.cache_write
    write_1h_price = 2 * price.input if price.cache_write_1h is None else price.cache_write_1h
    with localcontext() as ctx:
        ctx.prec = 60  # far beyond any token count times any price: every step is exact
        total = (
            uncached * price.input
            + cached * cached_price
            + (written - written_1h) * write_price
            + written_1h * write_1h_price
            + usage.completion_tokens * price.output
        )
        return total.scaleb(-_PER)


def billed(usd: Decimal, billing: Billing) -> Decimal:
    """What ``usd`` of list price costs on a profile, in ``billing.currency`` (exact)."""
    with localcontext() as ctx:
        ctx.prec = 60
        return usd * billing.per_usd


# --- name normalisation ---------------------------------------------------------------------------------

# Patterns, compiled by ``re`` on first use (and kept in its cache): a model found under the name as given
# -- the usual case -- needs none of them.
_TAG = r":[a-z][a-z0-9._-]*$"  # OpenRouter-style variants: :free, :beta, :thinking, :extended
_VENDOR_DOT = (
    r"^(?:[a-z]{2,4}(?:-gov)?\.)?"  # Bedrock cross-region prefix: us., eu., apac., us-gov., global.
    r"(?:anthropic|meta|mistral|amazon|cohere|deepseek|qwen|openai|google|writer|moonshotai|zai)\."
)
_GLOBAL = r"^global\."
_DATE = r"(?:[-@](?:(?:19|20)\d{6}|(?:19|20)\d{2}-\d{2}-\d{2})|[-@]latest|-v\d+(?::\d+)?)$"
_COMPACT_DATE = r"-((?:19|20)\d{2})(\d{2})(\d{2})$"


def _strip_tag(name: str) -> str:
    return re.sub(_TAG, "", name)


def _strip_vendor(name: str) -> str:
    name = name.rsplit("/", 1)[-1]
    return re.sub(_VENDOR_DOT, "", re.sub(_GLOBAL, "", name))


def _dashed_date(name: str) -> str:
    return re.sub(_COMPACT_DATE, r"-\1-\2-\3", name)


def _strip_date(name: str) -> str:
    while True:
        shorter = re.sub(_DATE, "", name)
        if shorter == name or not shorter:
            return name
        name = shorter


def candidates(model: str) -> list[str]:
    """The names tried for ``model``, most specific first (lower case, duplicates removed)."""
    forms = [model.strip().lower()]
    for transform in (_strip_tag, _strip_vendor, _dashed_date, _strip_date):
        for form in list(forms):
            changed = transform(form)
            if changed and changed not in forms:
                forms.append(changed)
    return forms


# --- the built-in snapshot ------------------------------------------------------------------------------


# scripts/refresh_prices.py writes the header, then this, then one row per line, in table order
_ROWS_START = ',\n "models": [\n'
_ROW_LENGTH = 11  # the columns: provider, id, input, output, ..., aliases, prefixes, note, scheduled


class _Snapshot:
    """The built-in table as read, parsed as far as the lookups so far needed.

    Most lookups are of a model under its own id or an alias (``gpt-4.1-mini``). In the file as the refresh
    script lays it out (a row per line, in table order), ``first_exact`` finds that row by its quoted name
    and parses that line alone. Every other lookup, and any file laid out otherwise, parses all the rows
    and builds the name indexes: every id and alias, the prefixes sorted longest first, and the bare names
    of aggregators' ids.
    """

    __slots__ = ("_bare", "_exact", "_lines", "_lower", "_prefixes", "_rows", "_text", "label", "path")

    def __init__(self, path: Path, text: str, label: str, rows: list[list[Any]] | None, lines: int) -> None:
        self.path = path
        self.label = label  # "genai-prices 0.2.3, 2026-11-23"
        self._text = text
        self._lines = lines  # where the rows begin in ``text`` (0: not the refresh script's layout)
        self._lower: str | None = None
        self._rows = rows
        self._exact: dict[str, int] | None = None
        self._prefixes: list[tuple[str, int]] = []  # longest first, then table order
        self._bare: dict[str, int] = {}  # "model" of an aggregator's "vendor/model"

    @property
    def rows(self) -> list[list[Any]]:
        if self._rows is None:
            rows = _parse(self.path, self._text)[1]
            assert rows is not None
            self._rows = rows
        return self._rows

    def first_exact(self, name: str) -> list[Any] | None:
        """The first row whose id (ignoring case) or one of whose aliases is ``name``: ``exact``'s answer."""
        if self._rows is None and self._lines:
            try:
                return self._line_with(name)
            except (ValueError, TypeError, IndexError, AttributeError):
                pass  # a line that is not one row: read the whole table (which names what is wrong)
        index = self.exact.get(name)
        return None if index is None else self.rows[index]

    def _line_with(self, name: str) -> list[Any] | None:
        import json

        if self._lower is None:
            self._lower = self._text.lower()  # ids are matched ignoring case; aliases are lower case
        needle = json.dumps(name, ensure_ascii=False)  # as the refresh script writes a string
        text, lower = self._text, self._lower
        at = lower.find(needle, self._lines)
        while at >= 0:
            begin = lower.rfind("\n", 0, at) + 1
            end = lower.find("\n", at)
            row = json.loads(text[begin : end if end >= 0 else len(text)].strip().removesuffix(","))
            if not isinstance(row, list) or len(row) != _ROW_LENGTH:
                raise ValueError("not one row per line")
            if row[1].lower() == name or name in row[7]:
                return row
            at = lower.find(needle, end) if end >= 0 else -1
        return None

    @property
    def exact(self) -> dict[str, int]:
        if self._exact is None:
            self._index()
        assert self._exact is not None
        return self._exact

    @property
    def prefixes(self) -> list[tuple[str, int]]:
        self.exact  # noqa: B018 - builds every index
        return self._prefixes

    @property
    def bare(self) -> dict[str, int]:
        self.exact  # noqa: B018 - builds every index
        return self._bare

    def _index(self) -> None:
        exact: dict[str, int] = {}
        prefixes: list[tuple[str, int]] = []
        for index, row in enumerate(self.rows):
            for name in (row[1].lower(), *row[7]):
                exact.setdefault(name, index)
            prefixes.extend((prefix, index) for prefix in row[8])
        # Aggregators list models as "vendor/model"; relays often forward the bare "model". Bare names are
        # tried last, so they never shadow a real id, alias or prefix.
        bare: dict[str, int] = {}
        for index, row in enumerate(self.rows):
            if "/" in row[1]:
                bare.setdefault(row[1].rsplit("/", 1)[1].lower(), index)
        prefixes.sort(key=lambda item: (-len(item[0]), item[1]))
        self._prefixes, self._bare = prefixes, bare
        self._exact = exact  # last: another thread that sees it sees the other two


_SNAPSHOT: _Snapshot | None = None


def _parse(path: Path, text: str, *, head: int = 0) -> tuple[str, list[list[Any]] | None]:
    """The label and (unless only the header, the first ``head`` characters, is read) the rows of the table
    in ``text``; RelayError when it is damaged."""
    import json  # only here: most commands never price anything

    try:
        doc = json.loads(text[:head] + "\n}" if head else text)
        columns = doc["columns"]
        label = f"{doc['source']} {doc['source_version']}, {doc['generated']}"
        rows: list[list[Any]] | None = None if head else doc["models"]
        if rows is not None and not isinstance(rows, list):
            raise TypeError("models is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise RelayError(
            f"The built-in price table {path} is missing or damaged ({exc}).",
            hint="Reinstall relay, or run scripts/refresh_prices.py in a checkout.",
        ) from exc
    if not isinstance(columns, list) or columns[:3] != ["provider", "id", "input"]:
        raise RelayError(f"The built-in price table {path} has an unknown layout.")
    return label, rows


def _load_snapshot(path: Path) -> _Snapshot:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise RelayError(
            f"The built-in price table {path} is missing or damaged ({exc}).",
            hint="Reinstall relay, or run scripts/refresh_prices.py in a checkout.",
        ) from exc
    head = text.find(_ROWS_START)
    if head < 0:
        label, rows = _parse(path, text)
        return _Snapshot(path, text, label, rows, 0)
    label, _ = _parse(path, text, head=head)
    return _Snapshot(path, text, label, None, head + len(_ROWS_START))


def _shared_snapshot() -> _Snapshot:
    """The packaged snapshot, read once per process."""
    global _SNAPSHOT
    if _SNAPSHOT is None:
        _SNAPSHOT = _load_snapshot(SNAPSHOT_PATH)
    return _SNAPSHOT


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _row_price(snapshot: _Snapshot, row: list[Any], today: date) -> Price:
    provider, model, inp, out, cached, write, window, _, _, note, scheduled = row
    since = ""
    for start, *values in scheduled or ():
        if date.fromisoformat(start) <= today:
            inp, out, cached, write = values
            since = f", price from {start}"
    return Price(
        model=model,
        input=Decimal(inp),
        output=Decimal(out),
        cached_input=_dec(cached),
        cache_write=_dec(write),
        context_window=window,
        source=f"built-in table: {provider} {model} ({snapshot.label}{since})",
        note=note,
    )


# --- overrides from the config file --------------------------------------------------------------------

_OVERRIDE_KEYS = frozenset({"input", "output", "cached_input", "cache_write", "cache_write_1h", "context_window"})


def _override_price(name: str, table: Mapping[str, Any]) -> Price:
    where = f'[prices."{name}"]'
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table of prices.", hint="e.g. input = 2.0, output = 8.0")
    unknown = sorted(set(table) - _OVERRIDE_KEYS)
    if unknown:
        raise ConfigError(
            f"{where} has unknown key(s): {', '.join(unknown)}.",
            hint="Allowed: " + ", ".join(sorted(_OVERRIDE_KEYS)) + " (USD per 1M tokens).",
        )
    for required in ("input", "output"):
        if required not in table:
            raise ConfigError(f"{where} needs `{required}` (USD per 1M tokens).")

    def money(key: str) -> Decimal | None:
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            raise ConfigError(f"{where} {key} must be a number, got {value!r}.")
        try:
            amount = Decimal(str(value))  # str(): a TOML float 2.5 is exactly Decimal("2.5")
        except InvalidOperation:
            raise ConfigError(f"{where} {key} must be a number, got {value!r}.") from None
        if not amount.is_finite() or amount < 0:
            raise ConfigError(f"{where} {key} must be a number >= 0, got {value!r}.")
        return amount

    window = table.get("context_window")
    if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window <= 0):
        raise ConfigError(f"{where} context_window must be a positive whole number, got {window!r}.")
    inp, out = money("input"), money("output")
    assert inp is not None and out is not None
    return Price(
        model=name,
        input=inp,
        output=out,
        cached_input=money("cached_input"),
        cache_write=money("cache_write"),
        cache_write_1h=money("cache_write_1h"),
        context_window=window,
        source=f"config {where}",
    )


# --- the table -------------------------------------------------------------------------------------------


class PriceTable:
    """Config overrides over the built-in snapshot. Build with :meth:`load`."""

    def __init__(self, overrides: dict[str, Price], *, today: date | None, path: Path) -> None:
        self._overrides = overrides
        self._today = today
        self._path = path
        self._cache: dict[str, Price | None] = {}
        self._snapshot: _Snapshot | None = None

    @classmethod
    def load(
        cls,
        overrides: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        today: date | None = None,
        path: Path = SNAPSHOT_PATH,
    ) -> PriceTable:
        """A table with ``overrides`` (the config's ``[prices]``; checked now, raising ConfigError).

        The built-in snapshot at ``path`` is read on the first lookup an override does not answer.
        ``today`` selects scheduled price changes (default: the current UTC date).
        """
        parsed: dict[str, Price] = {}
        for name, table in (overrides or {}).items():
            parsed[name.strip().lower()] = _override_price(name, table)
        return cls(parsed, today=today, path=path)

    def _builtin(self) -> _Snapshot:
        if self._snapshot is None:
            same = self._path == SNAPSHOT_PATH
            self._snapshot = _shared_snapshot() if same else _load_snapshot(self._path)
        return self._snapshot

    @property
    def today(self) -> date:
        return self._today or datetime.now(UTC).date()

    def lookup(self, model: str) -> Price | None:
        """The price of ``model`` or ``None`` (unpriced).

        Tried in order: config overrides, then exact names and aliases in the built-in table, then its
        name prefixes (longest first), then aggregators' ``vendor/model`` ids by the bare ``model`` --
        each against the name as given and then with a provider prefix (``openai/``,
        ``us.anthropic.``), a ``:variant`` suffix and a date or version suffix (``-20250514``,
        ``-2024-08-06``, ``@20240620``, ``-latest``, ``-v1:0``) taken off.
        Matching ignores case. A ``:free`` variant that is not in the table is priced at zero.
        """
        if model in self._cache:
            return self._cache[model]
        price = self._find(model)
        self._cache[model] = price
        return price

    def _find(self, model: str) -> Price | None:
        given = model.strip().lower()  # the first of candidates(model)
        if not given:
            return None
        forms: list[str] = []  # the other names are worked out only when they are needed
        if self._overrides:
            forms = candidates(model)
            for form in forms:
                if form in self._overrides:
                    return self._overrides[form]
        snapshot = self._builtin()
        row = snapshot.first_exact(given)
        if row is not None:
            return self._priced(given, given, snapshot, row)
        forms = forms or candidates(model)
        found = next(((f, snapshot.exact[f]) for f in forms if f in snapshot.exact), None)
        if found is None:
            found = next(
                ((f, i) for f in forms for prefix, i in snapshot.prefixes if f.startswith(prefix)),
                None,
            )
        if found is None:
            found = next(((f, snapshot.bare[f]) for f in forms if f in snapshot.bare), None)
        if found is None:
            return None
        form, index = found
        return self._priced(given, form, snapshot, snapshot.rows[index])

    def _priced(self, given: str, form: str, snapshot: _Snapshot, row: list[Any]) -> Price:
        """The price of ``row``, found under the name ``form`` for the model asked as ``given``."""
        price = _row_price(snapshot, row, self.today)
        if given.endswith(":free") and not form.endswith(":free"):
            return Price(
                model=f"{price.model}:free",
                input=_ZERO,
                output=_ZERO,
                context_window=price.context_window,
                source=f"{price.source}; ':free' variant, no charge",
                note="free variant",
            )
        return price

    def models(self) -> list[str]:
        """Every model id the built-in table knows, in table order (loads the snapshot)."""
        return [row[1] for row in self._builtin().rows]

    def snapshot_label(self) -> str:
        """Where the built-in prices come from, e.g. ``genai-prices 0.2.3, 2026-11-23``."""
        return self._builtin().label
