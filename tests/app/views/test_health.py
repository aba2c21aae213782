"""System Health against models.health."""

from __future__ import annotations

from models.db import Store
from models.health import health_summary
from tests.app.conftest import open_app, texts
from tests.app.seed import World
from tests.app.views.conftest import bounds, metric, period


def test_tiles_and_tables_equal_the_health_queries(shared: Store, world: World) -> None:
    app = open_app("health", **period(world))
    assert not app.exception
    summary = health_summary(shared, *bounds(world), by="workflow")
    runs = int(summary["spans"].sum())
    assert runs == 12
    assert metric(app, "Runs") == "12"
    errors = int(summary["errors"].sum())
    assert metric(app, "Run error rate") == f"{errors / runs:.1%}"
    assert metric(app, "Dead-lettered runs") == "1"
    assert metric(app, "Open breakers") == "1"
    assert metric(app, "Queue lag") == "4.5 s"
    table = app.dataframe[0].value
    shown = dict(zip(table["key"], table["spans"], strict=True))
    assert shown == dict(zip(summary["key"], summary["spans"], strict=True))
    assert "Worst periods" in texts(app)


def test_a_bad_period_links_to_the_trace_explorer_with_the_filter(
    shared: Store, world: World
) -> None:
    app = open_app("health", workflow="order-to-cash", **period(world))
    assert not app.exception
    links = [link for link in app.get("page_link") if "failed of" in link.proto.label]
    assert links, "each worst bucket links to its runs"
    target = links[0].proto
    assert target.page == "traces"
    assert "attr=workflow.name%3Dorder-to-cash" in target.query_string
    assert "from_ts=" in target.query_string and "to_ts=" in target.query_string


def test_empty_store(current: Store) -> None:
    app = open_app("health")
    assert not app.exception
    assert "No runs for this period" in app.info[0].value


def test_the_product_line_filter_narrows_span_health(shared: Store, world: World) -> None:
    app = open_app("health", product_line="wholesale", **period(world))
    assert not app.exception
    wholesale = health_summary(shared, *bounds(world), product_line="wholesale")
    runs = int(wholesale["spans"].sum())
    assert 0 < runs < 12  # the seeded world has runs of both product lines
    assert metric(app, "Runs") == str(runs)
    assert "platform-wide" in texts(app)  # the gauges do not split by product line
