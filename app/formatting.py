"""How numbers and values read on screen: money, percentages, durations, Markdown-safe text.

Streamlit renders Markdown in st.markdown, captions, alerts, subheaders and widget labels, so a
value from telemetry or the URL (a correlation id ``[x](http://evil)``, a span name, a tenant)
must pass through ``md_code`` or ``md_literal`` before it is put in such a string.
"""

from __future__ import annotations

import re
from decimal import Decimal

__all__ = ["duration_ms", "md_code", "md_literal", "money", "percent", "signed_money", "size"]


# Characters that open a Markdown or Streamlit construct anywhere in a line (links, images,
# emphasis, code, HTML, entities, math, tables, :color[...] directives), and those that do only
# at the start of a line (headings, lists, quotes, rules): line breaks are collapsed first.
_INLINE_MARKUP = re.compile(r"([\\`*_{}\[\]()!|<>~$:&])")
_LINE_START_MARKUP = re.compile(r"^(\d*)([#+\-=>.)])")
_LINE_BREAKS = re.compile(r"[\r\n]+")
_BACKTICK_RUNS = re.compile(r"`+")

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


def md_literal(text: object) -> str:
    """``text`` backslash-escaped so that Markdown shows it as typed, on one line.

    No link, image, emphasis, heading, list, HTML, math or ``:color[...]`` directive survives;
    a bare URL may still be made clickable by the renderer, but it reads exactly as the text.
    """
    # Outer blanks would not show anyway; leading ones could make a list or a code block.
    escaped = _INLINE_MARKUP.sub(r"\\\1", _LINE_BREAKS.sub(" ", str(text)).strip())
    return _LINE_START_MARKUP.sub(r"\1\\\2", escaped)


def md_code(text: object) -> str:
    """``text`` as an inline code span (an id, a name): nothing inside is interpreted."""
    value = _LINE_BREAKS.sub(" ", str(text))  # a blank line would end the span's paragraph
    if not value:
        return ""
    fence = "`" * (max((len(run) for run in _BACKTICK_RUNS.findall(value)), default=0) + 1)
    pad = " " if value.startswith(("`", " ")) or value.endswith(("`", " ")) else ""
    return f"{fence}{pad}{value}{pad}{fence}"
