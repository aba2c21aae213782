"""Tenancy through the real receiver: the token's tenant wins in every table a request reaches."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from models import health
from models.db import Store
from tests.collectors.conftest import rows

Receivers = Callable[..., tuple[Any, Any, Any]]
PB = {"Content-Type": "application/x-protobuf"}
T0 = 1_767_261_600_000_000_000  # 2026-01-01 10:00:00 UTC


def _resource(holder: Any, count: int) -> None:
    """service.name plus ``count - 1`` filler attributes: at or above the attribute cap."""
    holder.resource.attributes.add(key="service.name").value.string_value = "svc"
    for n in range(count - 1):
        holder.resource.attributes.add(key=f"filler.{n}").value.string_value = "x"


def _add(attributes: Any, **values: str) -> None:
    for key, value in values.items():
        attributes.add(key=key.replace("_", ".")).value.string_value = value


def _traces(resource_attributes: int) -> bytes:
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    _resource(rs, resource_attributes)
    span = rs.scope_spans.add().spans.add(
        trace_id=b"\x0a" * 16, span_id=b"\x0b" * 8, name="run order_to_cash"
    )
    span.start_time_unix_nano = T0
    span.end_time_unix_nano = T0 + 500_000_000
    _add(span.attributes, tenant_id="globex", correlation_id="corr-1", entity_id="order-1")
    span.attributes.add(key="workflow.name").value.string_value = "order_to_cash"
    return request.SerializeToString()


def _logs(resource_attributes: int) -> bytes:
    request = ExportLogsServiceRequest()
    rl = request.resource_logs.add()
    _resource(rl, resource_attributes)
    records = rl.scope_logs.add().log_records
    plain = records.add(time_unix_nano=T0, trace_id=b"\x0a" * 16)
    _add(plain.attributes, tenant_id="globex", correlation_id="corr-1")
    kpi = records.add(time_unix_nano=T0, event_name="kpi.order_advanced")
    _add(kpi.attributes, tenant_id="globex", event_id="ev-1", kpi_value="1")
    return request.SerializeToString()


def _metrics(resource_attributes: int) -> bytes:
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    _resource(rm, resource_attributes)
    metric = rm.scope_metrics.add().metrics.add(name="flowmeter.dlq.depth")
    point = metric.gauge.data_points.add(time_unix_nano=T0, as_double=3.0)
    _add(point.attributes, tenant_id="globex")
    point.attributes.add(key="workflow.name").value.string_value = "order_to_cash"
    return request.SerializeToString()


def _post(http: Any, signal: str, body: bytes, token: str) -> None:
    answer = requests.post(
        f"http://127.0.0.1:{http.port}/v1/{signal}",
        data=body,
        headers={**PB, "Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.content


def test_the_tokens_tenant_survives_the_attribute_cap_in_every_table(
    store: Store, make_receivers: Receivers
) -> None:
    """129 resource attributes (cap 128) and tenant.id=globex on the records, sent with acme's
    token: every raw row, rollup, lookup key, KPI event and gauge belongs to acme."""
    pipeline, http, _ = make_receivers(ingest_tokens={"acme-token": "acme"})
    _post(http, "traces", _traces(129), "acme-token")
    _post(http, "logs", _logs(129), "acme-token")
    _post(http, "metrics", _metrics(129), "acme-token")
    assert pipeline.flush(30)

    def tenants(sql: str) -> set[str]:
        return {row["t"] for row in rows(store, sql)}

    assert tenants("SELECT ResourceAttributes['tenant.id'] AS t FROM otel_traces") == {"acme"}
    assert tenants("SELECT tenant AS t FROM span_stats_1m") == {"acme"}
    assert tenants("SELECT tenant AS t FROM span_stats_1h") == {"acme"}
    assert tenants("SELECT tenant AS t FROM span_stats_1d") == {"acme"}
    assert tenants("SELECT tenant AS t FROM lookup_keys") == {"acme"}
    assert tenants("SELECT ResourceAttributes['tenant.id'] AS t FROM otel_logs") == {"acme"}
    assert tenants("SELECT tenant_id AS t FROM business_events") == {"acme"}
    assert tenants("SELECT tenant AS t FROM kpi_hourly") == {"acme"}
    assert tenants("SELECT ResourceAttributes['tenant.id'] AS t FROM otel_metrics_gauge") == {
        "acme"
    }
    # the cap still holds: 128 resource attributes, the stamp among them
    assert rows(store, "SELECT length(ResourceAttributes) AS n FROM otel_traces") == [{"n": 128}]
    window = (datetime(2026, 1, 1), datetime(2026, 1, 2))
    assert list(health.gauges(store, *window, tenants=["acme"])["value"]) == [3.0]
    assert health.gauges(store, *window, tenants=["globex"]).empty


def test_kpi_event_ids_deduplicate_per_tenant(store: Store, make_receivers: Receivers) -> None:
    """acme pre-sends globex's predictable event id: globex's event still lands, and acme's
    duplicates count tells nothing about globex's ids."""
    _, http, _ = make_receivers(ingest_tokens={"acme-token": "acme", "globex-token": "globex"})
    event = {"event_id": "inv-2026-0001", "ts": "2026-01-02T03:04:05Z", "kpi": "invoice_posted",
             "value": 1}  # fmt: skip

    def send(token: str) -> dict[str, Any]:
        answer = requests.post(
            f"http://127.0.0.1:{http.port}/v1/kpi",
            json={"events": [event]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    assert (send("acme-token")["inserted"], send("globex-token")["inserted"]) == (1, 1)
    assert send("globex-token")["duplicates"] == 1  # its own id, once more
    assert rows(
        store, "SELECT tenant_id, event_id FROM business_events FINAL ORDER BY tenant_id"
    ) == [
        {"tenant_id": "acme", "event_id": "inv-2026-0001"},
        {"tenant_id": "globex", "event_id": "inv-2026-0001"},
    ]
    assert rows(store, "SELECT tenant, events FROM kpi_hourly ORDER BY tenant") == [
        {"tenant": "acme", "events": 1},
        {"tenant": "globex", "events": 1},
    ]


def test_a_glob_matching_tenant_id_does_not_hash_the_tenant(
    store: Store, make_receivers: Receivers
) -> None:
    pipeline, http, _ = make_receivers(ingest_tokens={"acme-token": "acme"}, redact_keys=("*id*",))
    _post(http, "traces", _traces(3), "acme-token")
    _post(http, "logs", _logs(3), "acme-token")
    assert pipeline.flush(30)
    assert rows(store, "SELECT DISTINCT tenant FROM span_stats_1m") == [{"tenant": "acme"}]
    assert rows(store, "SELECT DISTINCT tenant FROM lookup_keys") == [{"tenant": "acme"}]
    assert rows(store, "SELECT DISTINCT ResourceAttributes['tenant.id'] AS t FROM otel_logs") == [
        {"t": "acme"}
    ]
    # ... while the other matching keys are hashed
    stored = rows(store, "SELECT SpanAttributes['correlation.id'] AS c FROM otel_traces")
    assert stored[0]["c"] == pipeline.redactor.hash("corr-1")
