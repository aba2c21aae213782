"""Spans and KPI events of a run, sent over OTLP/HTTP, arrive in a running Flowmeter receiver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from collectors.http_receiver import HttpReceiver
from collectors.pipeline import Pipeline
from models.db import Store
from models.settings import load_settings
from orchestrator.clock import VirtualClock
from orchestrator.engine import Engine
from orchestrator.execution import RunExecution
from orchestrator.state import Lease, open_store
from orchestrator.telemetry import Telemetry
from orchestrator.workflow import bind_runner, unbind_runner
from tests.orchestrator import sample_flows


def _telemetry(port: int) -> Telemetry:
    base = f"http://127.0.0.1:{port}"
    return Telemetry(span_exporter=OTLPSpanExporter(endpoint=f"{base}/v1/traces"),
                     log_exporter=OTLPLogExporter(endpoint=f"{base}/v1/logs"),
                     metric_reader=InMemoryMetricReader(), synchronous=True)  # fmt: skip


def _rows(store: Store, sql: str) -> list[dict[str, Any]]:
    names, values = store.read_only(sql)
    return [dict(zip(names, row, strict=True)) for row in values]


def test_run_spans_and_kpis_reach_the_receiver_in_one_trace_across_a_resume(
    store: Store, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("LEDGER_DSN", f"sqlite:///{tmp_path / 'ledger.db'}")
    settings = load_settings(env={}, data_dir=tmp_path / "data", batch_seconds=0.2,
                             redact_secret="k")  # fmt: skip
    pipeline = Pipeline(settings, store)
    pipeline.start()
    receiver = HttpReceiver(settings, pipeline, port=0)
    receiver.start()
    try:
        state, clock = open_store(f"sqlite:///{tmp_path / 'o.db'}"), VirtualClock()
        first = _telemetry(receiver.port)
        engine = Engine(state, clock=clock, telemetry=first)
        run_id = engine.submit("ledger_flow", {"id": "o-5", "amount": 25}, correlation_id="ord-5",
                               tenant_id="acme", product_line="hardware", entity_type="order",
                               entity_id="o-5")  # fmt: skip
        assert run_id is not None
        # First execution stops after two steps (as if the worker died): the lease is lost.
        record = state.claim("w1", clock.now(), 30.0)
        assert record is not None
        execution = RunExecution(engine, record, Lease(record.id, "w1", record.lease_token))
        token = bind_runner(execution)
        try:
            sample_flows.reserve({"id": "o-5", "amount": 25})
            sample_flows.charge({"id": "o-5", "amount": 25})
        finally:
            unbind_runner(token)
        first.shutdown()
        clock.advance(60)
        assert state.recover_expired(clock.now()) == [run_id]
        second = _telemetry(receiver.port)  # a new process would have its own SDK
        assert Engine(state, clock=clock, telemetry=second).run_once("w2") == run_id
        second.shutdown()
        assert pipeline.flush(30)
    finally:
        receiver.stop(2)
        pipeline.stop(5)
    trace_id = state.run(run_id).traceparent.split("-")[1]
    spans = _rows(store, "SELECT TraceId, SpanName, ServiceName, SpanAttributes FROM otel_traces")
    assert {s["TraceId"] for s in spans} == {trace_id}
    names = sorted(s["SpanName"] for s in spans)
    assert names == ["run ledger_flow", "step charge", "step invoice", "step reserve", "step ship"]
    run_span = next(s for s in spans if s["SpanName"] == "run ledger_flow")
    attrs = run_span["SpanAttributes"]
    assert attrs["correlation.id"] == "ord-5" and attrs["workflow.run_id"] == run_id
    assert attrs["tenant.id"] == "acme" and attrs["product.line"] == "hardware"
    assert attrs["entity.type"] == "order" and attrs["run.outcome"] == "completed"
    step = next(s for s in spans if s["SpanName"] == "step invoice")["SpanAttributes"]
    assert step["step.name"] == "invoice" and step["step.attempt"] == "1"
    kpis = _rows(store, "SELECT kpi, amount, currency, correlation_id, trace_id, entity_id "
                        "FROM business_events FINAL")  # fmt: skip
    assert [(k["kpi"], float(k["amount"]), k["currency"], k["correlation_id"], k["trace_id"],
             k["entity_id"]) for k in kpis] == [
        ("invoice_posted", 25.0, "EUR", "ord-5", trace_id, "o-5")
    ]  # fmt: skip
    state.close()
