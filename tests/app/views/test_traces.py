"""Trace Explorer against models.correlation."""

from __future__ import annotations

from models.correlation import drilldown
from models.db import Store
from tests.app.conftest import open_app, texts
from tests.app.seed import World
from tests.app.views.conftest import period


def test_correlation_search_shows_the_trace_and_everything_around_it(
    shared: Store, world: World
) -> None:
    app = open_app("traces", correlation=world.dead_correlation, **period(world))
    assert not app.exception
    expected = drilldown(shared, "correlation", world.dead_correlation)
    assert f"Trace `{world.dead_trace}`" in texts(app)
    tabs = [tab.label for tab in app.tabs]
    assert tabs[0] == f"Logs ({len(expected.logs)})"
    assert tabs[2] == f"Dead letters and replays ({len(expected.dead_letters)})"
    assert len(expected.dead_letters) == 1
    spans = next(s for s in app.selectbox if s.label == "Span details")
    assert len(spans.options) == len(expected.spans) == 3  # run + two attempts of charge


def test_entity_and_trace_ids_find_the_same_flow(shared: Store, world: World) -> None:
    for params in ({"entity": world.dead_entity}, {"trace": world.dead_trace}):
        app = open_app("traces", **params, **period(world))
        assert not app.exception
        assert f"Trace `{world.dead_trace}`" in texts(app)
        assert f"**Correlation** `{world.dead_correlation}`" in texts(app)


def test_attribute_search_lists_spans_then_opens_one(shared: Store, world: World) -> None:
    app = open_app("traces", attr="run.outcome=dead_lettered", **period(world))
    assert not app.exception
    assert "1 spans with `run.outcome` = `dead_lettered`" in texts(app)
    chooser = next(s for s in app.selectbox if s.label == "Open a trace")
    chooser.select(world.dead_trace).run()
    assert not app.exception
    assert f"Trace `{world.dead_trace}`" in texts(app)


def test_unknown_id_says_so(shared: Store, world: World) -> None:
    app = open_app("traces", correlation="no-such-id")
    assert not app.exception
    assert "Nothing found for correlation id `no-such-id`" in texts(app)


def test_malformed_attribute_search_is_explained(current: Store) -> None:
    app = open_app("traces", attr="no-equals-sign")
    assert not app.exception
    assert "Attribute search needs key=value" in app.error[0].value


def test_empty_store_invites_a_search(current: Store) -> None:
    app = open_app("traces")
    assert not app.exception
    assert "Search by a correlation ID" in texts(app)
