from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from models.correlation import drilldown, resolve, search_spans
from models.db import Store
from models.pricing import parse_price_list
from tests.builders import Span, insert_spans, kpi_event, log_event, module_store, run

T0 = datetime(2026, 3, 2, 10, 0)
PRICES = parse_price_list(
    'currency = "USD"\n[prices.payments-api]\nper_call = "0.01"\nper_compute_second = "0.5"\n'
)


@pytest.fixture(scope="module")
def seeded(engine_dsn: str) -> tuple[Store, str]:
    store = module_store(engine_dsn)
    trace = run(store, T0, "order-to-cash", correlation="corr-1", entity="order-42",
                steps=[("charge", "ok", 50.0)], calls=[("payments-api", 200.0)] * 2)  # fmt: skip
    run(store, T0, "order-to-cash", correlation="corr-2", entity="order-43", tenant="globex")
    kpi_event(store, T0 + timedelta(seconds=2), "order_advanced", correlation="corr-1",
              entity="order-42", trace_id=trace)  # fmt: skip
    log_event(store, T0 + timedelta(seconds=3), "dlq.quarantined",
              {"correlation.id": "corr-1", "dlq.id": "d1", "dlq.reason": "timeout"})  # fmt: skip
    log_event(store, T0 + timedelta(minutes=30), "dlq.replayed",
              {"correlation.id": "corr-1", "dlq.id": "d1", "audit.actor": "ann",
               "audit.reason": "fixed"})  # fmt: skip
    return store, trace


def test_resolve_by_each_kind(seeded: tuple[Store, str]) -> None:
    store, trace = seeded
    for kind, key in (("correlation", "corr-1"), ("entity", "order-42"), ("trace", trace)):
        keys = resolve(store, kind, key)
        assert set(keys["trace_id"]) - {""} == {trace}, kind
        assert set(keys["correlation_id"]) == {"corr-1"}, kind


def test_drilldown_returns_everything(seeded: tuple[Store, str]) -> None:
    store, trace = seeded
    found = drilldown(store, "entity", "order-42", prices=PRICES)
    assert found.found
    assert len(found.spans) == 4  # run + step + 2 calls
    assert set(found.spans["trace_id"]) == {trace}
    assert list(found.kpi_events["kpi"]) == ["order_advanced"]
    assert list(found.dead_letters["event_name"]) == ["dlq.quarantined", "dlq.replayed"]
    assert found.dead_letters.iloc[1]["actor"] == "ann"
    cost = found.cost.iloc[0]
    assert (cost["dependency"], cost["calls"]) == ("payments-api", 2)
    assert cost["cost"] == Decimal("0.02") + Decimal("0.5") * Decimal("0.4")


def test_drilldown_respects_tenants(seeded: tuple[Store, str]) -> None:
    store, trace = seeded
    assert not drilldown(store, "correlation", "corr-1", tenants=["globex"]).found
    other = drilldown(store, "trace", trace, tenants=["globex"])  # acme's trace
    assert not other.found and other.spans.empty and other.logs.empty
    assert len(drilldown(store, "trace", trace, tenants=["acme"]).spans) == 4
    assert drilldown(store, "correlation", "corr-2", tenants=["globex"]).found
    missing = drilldown(store, "correlation", "nope")
    assert not missing.found and "no correlation id" in missing.notes[0]


def test_search_spans_by_attribute(seeded: tuple[Store, str]) -> None:
    store, trace = seeded
    found = search_spans(
        store, "peer.service", "payments-api", T0, T0 + timedelta(hours=1), limit=1
    )
    assert len(found) == 1 and found.iloc[0]["trace_id"] == trace
    assert search_spans(store, "entity.id", "order-43", T0, T0 + timedelta(hours=1),
                        tenants=["acme"]).empty  # fmt: skip


def test_drilldown_reads_logs_to_the_end_of_a_long_trace(store: Store) -> None:
    """The lookup keys only know the run span's start; the trace bounds widen the log window."""
    trace = run(store, T0, "refund", correlation="corr-long", duration_ms=45 * 60_000.0)
    insert_spans(store, [Span(T0 + timedelta(minutes=40), "step approve", trace)])
    log_event(store, T0 + timedelta(minutes=41), "approval.done", {}, trace_id=trace)
    log_event(store, T0 + timedelta(minutes=50), "unrelated", {}, trace_id=trace)
    found = drilldown(store, "correlation", "corr-long")
    assert len(found.spans) == 2
    # 41 min is inside the trace (last span 40 min) + 5 min slack; 50 min is not.
    assert list(found.logs["event_name"]) == ["approval.done"]


def test_drilldown_of_a_plain_otel_trace(store: Store) -> None:
    """A trace without correlation or entity ids (any OTel SDK) is found by its trace id."""
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    insert_spans(store, [Span(T0, "GET /health", trace), Span(T0, "SELECT", trace)])
    log_event(store, T0 + timedelta(seconds=1), "health.ok", {}, trace_id=trace)
    found = drilldown(store, "trace", trace)
    assert found.found and found.keys.empty
    assert set(found.spans["span_name"]) == {"GET /health", "SELECT"}
    assert list(found.logs["event_name"]) == ["health.ok"]
    unknown = drilldown(store, "trace", "0" * 32)
    assert not unknown.found and unknown.spans.empty and unknown.logs.empty


def test_a_dead_letter_logged_before_its_run_span_arrives_is_in_the_drilldown(
    store: Store,
) -> None:
    """The engine logs dlq.quarantined an hour into a run and exports the run span (stamped
    at the run's start) afterwards; after the lookup table merges, the window still reaches
    the later event."""
    trace = "5bf92f3577b34da6a3ce929d0e0e4736"
    log_event(store, T0 + timedelta(hours=1), "dlq.quarantined",
              {"correlation.id": "corr-late", "dlq.id": "d9", "dlq.reason": "poison"},
              trace_id=trace)  # fmt: skip
    insert_spans(store, [Span(T0, "run refund", trace, attrs={"correlation.id": "corr-late"},
                              duration_ms=3_600_000.0)])  # fmt: skip
    store.ddl("OPTIMIZE TABLE lookup_keys FINAL")
    found = drilldown(store, "correlation", "corr-late")
    assert list(found.dead_letters["dlq_id"]) == ["d9"]
    assert found.keys.iloc[0]["last_seen"] == T0 + timedelta(hours=1)
