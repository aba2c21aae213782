"""How numbers read on screen: money, percentages, durations (presentation only)."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["duration_ms", "money", "percent", "signed_money", "size"]

_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CHF": "CHF "}


def money(amount: Decimal | float | None, currency: str, *, decimals: int = 0) -> str:
    """``€12,345`` (or ``12,345 SEK`` for codes without a symbol); ``–`` when unknown."""
    if amount is None:
        return "–"
    value = float(amount)
    sign = "-" if value < 0 else ""
    text = f"{abs(value):,.{decimals}f}"
    symbol = _SYMBOLS.get(currency)
    if symbol:
        return f"{sign}{symbol}{text}"
    return f"{sign}{text} {currency}".rstrip()


def signed_money(amount: Decimal | float, currency: str) -> str:
    """Money with an explicit sign, for deltas: ``+€1,200`` / ``-€300``."""
    text = money(abs(float(amount)), currency)
    return f"{'-' if float(amount) < 0 else '+'}{text}"


def percent(value: Decimal | float | None, *, decimals: int = 0) -> str:
    """``245%``; ``–`` when there is no figure."""
    return "–" if value is None else f"{float(value):,.{decimals}f}%"


def duration_ms(value: float | None) -> str:
    """A latency in the largest unit that keeps it short: ``850 ms``, ``12.4 s``, ``2.1 h``."""
    if value is None:
        return "–"
    for limit, divisor, unit in (
        (1_000, 1, "ms"),
        (60_000, 1_000, "s"),
        (3_600_000, 60_000, "min"),
    ):
        if abs(value) < limit:
            return (
                f"{value / divisor:,.0f} {unit}"
                if unit == "ms"
                else f"{value / divisor:,.1f} {unit}"
            )
    return f"{value / 3_600_000:,.1f} h"


def size(count: float | int) -> str:
    """Bytes in the largest binary unit that keeps them short: ``512 B``, ``3.4 GiB``."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover
