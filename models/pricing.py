"""Usage pricing: a TOML price list per dependency, and pure functions that price span usage.

The price list (``FLOWMETER_PRICING_FILE``)::

    currency = "USD"
    [prices.payments-api]
    per_call = "0.002"            # per external call (a client span with peer.service)
    per_compute_second = "0.0001" # per second those calls took

Money is Decimal from the file's text, never float.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd

from models.errors import CostImportError

__all__ = [
    "Price",
    "PriceList",
    "load_price_list",
    "parse_price_list",
    "price_spans",
    "price_usage",
]


@dataclass(frozen=True)
class Price:
    """Unit prices of one dependency."""

    per_call: Decimal = Decimal(0)
    per_compute_second: Decimal = Decimal(0)


@dataclass(frozen=True)
class PriceList:
    """Unit prices per dependency, all in one currency."""

    currency: str
    prices: Mapping[str, Price]

    def cost(self, dependency: str, calls: int, compute_seconds: float) -> Decimal:
        """Cost of ``calls`` calls taking ``compute_seconds`` to ``dependency`` (0 when unpriced)."""
        price = self.prices.get(dependency)
        if price is None:
            return Decimal(0)
        seconds = Decimal(str(round(compute_seconds, 6)))
        return price.per_call * calls + price.per_compute_second * seconds


def _money(value: object, where: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise CostImportError(f"{where}: {value!r} is not a number") from None
    if amount < 0 or not amount.is_finite():
        raise CostImportError(f"{where}: {value!r} must be a number >= 0")
    return amount


def parse_price_list(text: str, source: str = "price list") -> PriceList:
    """Parse price-list TOML; CostImportError naming the bad entry."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CostImportError(f"{source}: not valid TOML ({exc})") from None
    currency = str(data.get("currency", "")).strip().upper()
    if len(currency) != 3:
        raise CostImportError(f"{source}: 'currency' must be a 3-letter code such as USD")
    table = data.get("prices", {})
    if not isinstance(table, dict) or not table:
        raise CostImportError(f"{source}: needs a [prices.<dependency>] table")
    prices: dict[str, Price] = {}
    for dependency, entry in table.items():
        if not isinstance(entry, dict):
            raise CostImportError(f"{source}: [prices.{dependency}] must be a table")
        unknown = set(entry) - {"per_call", "per_compute_second"}
        if unknown:
            raise CostImportError(f"{source}: [prices.{dependency}] unknown keys {sorted(unknown)}")
        prices[dependency] = Price(
            _money(entry.get("per_call", 0), f"{source}: prices.{dependency}.per_call"),
            _money(
                entry.get("per_compute_second", 0),
                f"{source}: prices.{dependency}.per_compute_second",
            ),
        )
    return PriceList(currency, prices)


def load_price_list(path: Path) -> PriceList:
    """Read and parse a price-list file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CostImportError(f"{path}: cannot read the price list ({exc.strerror})") from None
    return parse_price_list(text, str(path))


def price_usage(usage: pd.DataFrame, prices: PriceList) -> pd.DataFrame:
    """Add ``cost`` (Decimal) and ``currency`` to rows with dependency, calls, compute_seconds."""
    frame = usage.copy()
    frame["cost"] = pd.Series(
        [
            prices.cost(str(dep), int(calls), float(seconds))
            for dep, calls, seconds in zip(
                frame["dependency"], frame["calls"], frame["compute_seconds"], strict=True
            )
        ],
        index=frame.index,
        dtype=object,
    )
    frame["currency"] = prices.currency
    return frame


def price_spans(spans: pd.DataFrame, prices: PriceList) -> pd.DataFrame:
    """Columns dependency, calls, compute_seconds, cost, currency for a trace's external-call spans."""
    columns = ["dependency", "calls", "compute_seconds", "cost", "currency"]
    if spans.empty:
        return pd.DataFrame(columns=columns)
    dependency = spans["attributes"].map(lambda a: dict(a).get("peer.service", ""))
    calls = spans.assign(dependency=dependency)
    calls = calls[calls["dependency"] != ""]
    if calls.empty:
        return pd.DataFrame(columns=columns)
    usage = (
        calls.groupby("dependency")
        .agg(calls=("span_id", "count"), compute_seconds=("duration_ms", "sum"))
        .reset_index()
    )
    usage["compute_seconds"] = usage["compute_seconds"] / 1000.0
    return price_usage(usage, prices)[columns]
