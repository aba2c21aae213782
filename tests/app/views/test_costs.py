"""Cost Attribution against models.costs, and the downloads."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pandas as pd

from models.costs import attributed_costs
from models.db import Store
from models.totals import cost_totals
from tests.app.conftest import open_app, texts
from tests.app.seed import World
from tests.app.views.conftest import bounds, metric, period


def test_tiles_tables_and_csv_equal_the_attributed_costs(shared: Store, world: World) -> None:
    app = open_app("costs", **period(world))
    assert not app.exception
    start, end = bounds(world)
    expected = cost_totals(attributed_costs(shared, start.date(), end.date(), by="tenant"))
    assert expected.effective_cost == Decimal("1324.56")  # 40.00 + 1234.56 + 50.00 shared
    assert metric(app, "Effective cost") == "€1,324.56"
    assert metric(app, "Shared, allocated") == f"€{float(expected.shared_allocated):,.2f}"
    html = "".join(str(element.proto) for element in app.get("html"))
    assert "Showback by tenant" in html and "tenant-b" in html
    csv_button = next(b for b in app.get("download_button") if "CSV" in b.proto.label)
    assert csv_button.proto.label.endswith("CSV")
    export = app.get("download_button")
    assert len(export) == 4


def test_csv_download_rows_sum_to_the_imported_total(shared: Store, world: World) -> None:
    from app import data

    start, end = bounds(world)
    raw = data.cost_export(start.date(), end.date(), "tenant", "csv", None)
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 with the BOM
    frame = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig")
    assert round(frame["effective_cost"].sum(), 2) == 1324.56
    assert {"period_start", "period_end", "tenant", "allocation_method"} <= set(frame.columns)
    assert data.cost_export(start.date(), end.date(), "tenant", "xlsx", None)[:2] == b"PK"
    assert data.cost_export(start.date(), end.date(), "tenant", "parquet", None)[:4] == b"PAR1"
    assert b"<table" in data.cost_export(start.date(), end.date(), "tenant", "html", None)
    assert end - start > timedelta(days=1)


def test_empty_store(current: Store) -> None:
    app = open_app("costs")
    assert not app.exception
    assert "No cost records" in texts(app)
