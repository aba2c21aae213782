"""How a catalog KPI reads on a tile: its value and its change against the previous period."""

from __future__ import annotations

from app.formatting import money, percent, signed_money
from models.kpi_catalog import KpiTile

__all__ = ["tile_text"]


def tile_text(tile: KpiTile, currency: str) -> tuple[str, str | None]:
    """(value, delta) as the tile shows them; money in the KPI's currency (else ``currency``)."""
    kpi, value, before = tile.kpi, tile.value, tile.previous
    if kpi.aggregation == "share" or kpi.unit == "%":
        delta = None if value is None or before is None else f"{value - before:+.1f} pts"
        return percent(value, decimals=1), delta
    if kpi.unit == "money" or tile.currency:
        code = tile.currency or currency
        delta = None if value is None or before is None else signed_money(value - before, code)
        return money(value, code), delta
    if kpi.aggregation in ("per_hour", "avg"):
        delta = None if value is None or before is None else f"{value - before:+,.1f}"
        return ("–" if value is None else f"{value:,.1f}"), delta
    delta = None if value is None or before is None else f"{int(value - before):+,}"
    return ("–" if value is None else f"{int(value):,}"), delta
