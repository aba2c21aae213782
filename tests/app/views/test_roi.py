"""Executive ROI against what models/ computes."""

from __future__ import annotations

from models.db import Store
from models.roi_report import roi_report
from models.totals import roi_totals
from tests.app.conftest import open_app, texts
from tests.app.seed import World
from tests.app.views.conftest import bounds, metric, period


def test_headline_tiles_equal_the_roi_report(shared: Store, world: World) -> None:
    app = open_app(**period(world))
    assert not app.exception
    expected = roi_totals(roi_report(shared, *bounds(world)))
    assert expected.volume == 10  # 6 + 4 completed runs; the failed and dead-lettered excluded
    assert metric(app, "Transactions") == "10"
    net = float(expected.net_savings)
    assert metric(app, "Net savings") == (f"-€{abs(net):,.0f}" if net < 0 else f"€{net:,.0f}")
    assert metric(app, "Hours saved") == f"{float(expected.hours_saved):,.0f} h"
    assert metric(app, "ROI") == f"{float(expected.roi_percent or 0):,.0f}%"
    assert "Baselines used: invoice v1, order-to-cash v1" in texts(app)
    assert metric(app, "Invoices posted") == "4"
    assert metric(app, "SLA met") == "85.7%"  # 6 met, 1 missed


def test_empty_store_shows_how_to_send_data(current: Store) -> None:
    app = open_app()
    assert not app.exception
    assert "flowmeter up --demo" in app.info[0].value
    assert not app.metric
