"""The Executive page's Business outcomes come from the KPI catalog, not from KPI names in app/."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.db import Store
from tests.app.conftest import open_app
from tests.app.seed import World
from tests.app.views.conftest import metric, period

CATALOG = """
profiles = []

[[kpi]]
name = "invoices_booked"
label = "Invoices booked"
from = "runs"
workflow = "invoice"

[[kpi]]
name = "order_value"
label = "Order value"
kpi = "order_advanced"
aggregation = "sum"
unit = "money"
currency = "EUR"
"""


def test_a_rules_file_catalog_replaces_the_demo_tiles(
    shared: Store, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(CATALOG)
    monkeypatch.setenv("FLOWMETER_RULES_FILE", str(rules))
    app = open_app(**period(world))
    assert not app.exception
    labels = [m.label for m in app.metric]
    assert "Invoices posted" not in labels and "SLA met" not in labels  # the demo's catalog
    assert metric(app, "Invoices booked") == "4"  # completed runs of the invoice workflow
    assert metric(app, "Order value") == "€600"  # 6 order_advanced events x 100.00 EUR


def test_the_demo_catalog_is_what_the_seeded_store_saved(shared: Store, world: World) -> None:
    app = open_app(**period(world))
    labels = [m.label for m in app.metric]
    for label in ("Orders advanced per hour", "Invoices posted", "Refunds prevented", "SLA met"):
        assert label in labels
