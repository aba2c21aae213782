"""Drill-down under hostile tenants: spans and logs planted under another tenant's trace id."""

from __future__ import annotations

from datetime import datetime, timedelta

from models.correlation import drilldown
from models.db import Store
from tests.builders import SPAN_COLUMNS, Span, log_event, run

T0 = datetime(2026, 3, 2, 10, 0)


def _plant(store: Store, trace_id: str, *, resource_tenant: str, span_tenant: str) -> None:
    """A run span under ``trace_id`` whose resource (the token's stamp) says ``resource_tenant``."""
    span = Span(
        T0 + timedelta(seconds=1),
        "run planted",
        trace_id,
        attrs={"tenant.id": span_tenant, "correlation.id": "corr-planted"},
    )
    row = span.row()
    row[SPAN_COLUMNS.index("ResourceAttributes")] = {"tenant.id": resource_tenant}
    store.insert("otel_traces", [row], SPAN_COLUMNS)


def test_spans_and_logs_planted_under_another_tenants_trace_stay_apart(store: Store) -> None:
    trace = run(store, T0, "order-to-cash", tenant="acme", correlation="corr-a",
                steps=[("charge", "ok", 50.0)])  # fmt: skip
    # globex (its token stamps the resource) plants a span under acme's trace id, claiming
    # acme in the span's own tenant.id: the stamp wins, the span is globex's.
    _plant(store, trace, resource_tenant="globex", span_tenant="acme")
    log_event(store, T0, "dlq.quarantined", {"correlation.id": "corr-a", "tenant.id": "acme"},
              trace_id=trace)  # fmt: skip
    log_event(store, T0, "planted", {"correlation.id": "corr-a", "tenant.id": "globex"},
              trace_id=trace)  # fmt: skip

    acme = drilldown(store, "trace", trace, tenants=["acme"])
    assert len(acme.spans) == 2 and "run planted" not in set(acme.spans["span_name"])
    assert list(acme.logs["event_name"]) == ["dlq.quarantined"]
    assert list(drilldown(store, "correlation", "corr-a", tenants=["acme"]).logs["event_name"]) == [
        "dlq.quarantined"
    ]

    globex = drilldown(store, "trace", trace, tenants=["globex"])
    assert list(globex.spans["span_name"]) == ["run planted"]
    assert list(globex.logs["event_name"]) == ["planted"]

    everyone = drilldown(store, "trace", trace)
    assert len(everyone.spans) == 3 and len(everyone.logs) == 2


def test_drilldown_rows_are_capped_and_the_cut_is_said(store: Store) -> None:
    trace = run(store, T0, "bulk", tenant="acme", correlation="corr-bulk",
                calls=[("payments-api", 10.0)] * 9)  # fmt: skip
    for n in range(5):
        log_event(store, T0, f"log-{n}", {"correlation.id": "corr-bulk", "tenant.id": "acme"},
                  trace_id=trace)  # fmt: skip
    cut = drilldown(store, "trace", trace, tenants=["acme"], max_rows=4)
    assert len(cut.spans) == 4 and len(cut.logs) == 4
    assert cut.truncated == ["spans", "logs"]
    assert any("first 4 spans" in note for note in cut.notes)
    whole = drilldown(store, "trace", trace, tenants=["acme"], max_rows=10)
    assert len(whole.spans) == 10 and len(whole.logs) == 5 and whole.truncated == []
