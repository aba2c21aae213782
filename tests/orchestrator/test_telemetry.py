"""Telemetry per docs/telemetry.md, captured by the SDK's in-memory exporters."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from orchestrator.api import OrchestratorAPI
from orchestrator.clock import VirtualClock
from orchestrator.engine import Engine
from orchestrator.telemetry import Telemetry
from tests.orchestrator import sample_flows
from tests.orchestrator.conftest import StateDb

T0 = 1_800_000_000.0
RUN_KEYS = {"correlation.id", "workflow.name", "workflow.run_id", "tenant.id", "product.line",
            "entity.type", "entity.id", "run.mode", "run.replay"}  # fmt: skip


class Captured:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.logs = InMemoryLogRecordExporter()
        self.metrics = InMemoryMetricReader()
        self.telemetry = Telemetry(span_exporter=self.spans, log_exporter=self.logs,
                                   metric_reader=self.metrics, synchronous=True)  # fmt: skip

    def metric_points(self) -> dict[str, list[Any]]:
        data = self.metrics.get_metrics_data()
        out: dict[str, list[Any]] = {}
        for rm in data.resource_metrics if data else ():
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    out.setdefault(metric.name, []).extend(metric.data.data_points)
        return out


def _submit(engine: Engine, workflow: str, payload: dict[str, Any]) -> str:
    run_id = engine.submit(workflow, payload, correlation_id="ord-77", tenant_id="acme",
                           product_line="hardware", entity_type="order", entity_id="o-77")  # fmt: skip
    assert run_id is not None
    return run_id


def test_run_and_step_spans_carry_the_contract_attributes_in_one_trace_across_executions(
    sqlite_db: StateDb,
) -> None:
    cap, clock = Captured(), VirtualClock(start=T0)
    sample_flows.failures["flaky"] = 1
    store = sqlite_db.open()
    run_id = _submit(
        Engine(store, clock=clock, telemetry=cap.telemetry, seed=1), "retry_flow", {"x": 1}
    )
    first = Engine(store, clock=clock, telemetry=cap.telemetry, seed=1)
    assert first.run_once("w1") == run_id
    clock.advance(30)
    # A different engine (as another worker process would be) resumes the run.
    resumed = Captured()
    second = Engine(store, clock=clock, telemetry=resumed.telemetry, seed=2)
    assert second.run_once("w2") == run_id
    spans = list(cap.spans.get_finished_spans()) + list(resumed.spans.get_finished_spans())
    names = [s.name for s in spans]
    assert names == ["step flaky", "step flaky", "run retry_flow"]
    traceparent = store.run(run_id).traceparent
    assert {f"{s.context.trace_id:032x}" for s in spans} == {traceparent.split("-")[1]}
    run_span = spans[-1]
    assert f"{run_span.context.span_id:016x}" == traceparent.split("-")[2]
    assert all(s.parent.span_id == run_span.context.span_id for s in spans[:2])  # type: ignore[union-attr]
    assert set(run_span.attributes or {}) >= RUN_KEYS
    assert run_span.attributes["run.outcome"] == "completed"  # type: ignore[index]
    assert run_span.attributes["correlation.id"] == "ord-77"  # type: ignore[index]
    assert run_span.attributes["run.mode"] == "automated"  # type: ignore[index]
    assert run_span.start_time == int(T0 * 1e9)  # the virtual clock's time, not the wall's
    failed, ok = spans[0], spans[1]
    assert failed.attributes["step.attempt"] == 1 and ok.attributes["step.attempt"] == 2  # type: ignore[index]
    assert failed.attributes["step.outcome"] == "retry"  # type: ignore[index]
    assert failed.attributes["step.dependency"] == "erp"  # type: ignore[index]
    assert failed.status.status_code == StatusCode.ERROR
    retry = [e for e in failed.events if e.name == "retry"]
    assert retry and retry[0].attributes["exception.type"] == "FlakyError"  # type: ignore[index]
    assert [e.name for e in failed.events].count("exception") == 1
    assert ok.attributes["step.outcome"] == "ok" and ok.attributes["tenant.id"] == "acme"  # type: ignore[index]
    points = cap.metric_points()
    assert points["flowmeter.step.retries"][0].value == 1
    assert points["flowmeter.runs.started"][0].attributes == {
        "workflow.name": "retry_flow",
        "tenant.id": "acme",
    }
    assert resumed.metric_points()["flowmeter.runs.completed"][0].value == 1


def test_kpi_and_dead_letter_events_and_a_replay_in_the_same_trace(
    sqlite_db: StateDb, monkeypatch: Any, tmp_path: Any
) -> None:
    monkeypatch.setenv("LEDGER_DSN", f"sqlite:///{tmp_path / 'ledger.db'}")
    cap, clock = Captured(), VirtualClock(start=T0)
    engine = Engine(sqlite_db.open(), clock=clock, telemetry=cap.telemetry, seed=1)
    run_id = _submit(engine, "ledger_flow", {"id": "o-77", "amount": 30})
    assert engine.run_once("w") == run_id
    kpis = [
        r for r in cap.logs.get_finished_logs() if r.log_record.event_name == "kpi.invoice_posted"
    ]
    assert len(kpis) == 1
    attrs = kpis[0].log_record.attributes or {}
    assert attrs["kpi.amount"] == "30.0" and attrs["kpi.currency"] == "EUR"
    assert attrs["correlation.id"] == "ord-77" and attrs["entity.id"] == "o-77"
    assert attrs["event.id"] == f"{run_id}:invoice:invoice_posted"
    trace_id = engine.store.run(run_id).traceparent.split("-")[1]
    assert f"{kpis[0].log_record.trace_id:032x}" == trace_id

    sample_flows.failures["pay_refund"] = 2
    refund = _submit(engine, "refund_flow", {"id": "r-1", "amount": 3})
    assert engine.run_once("w") == refund
    clock.advance(5)
    assert engine.run_once("w") == refund
    api = OrchestratorAPI(engine.store, telemetry=cap.telemetry, clock=clock)
    letter = api.dead_letters()[0]
    api.replay(letter["id"], actor="ana", reason="fixed")
    assert engine.run_once("w") == refund
    events = {r.log_record.event_name: r.log_record for r in cap.logs.get_finished_logs()}
    quarantined, replayed = events["dlq.quarantined"], events["dlq.replayed"]
    assert quarantined.attributes["dlq.reason"] == "retries_exhausted"  # type: ignore[index]
    assert replayed.attributes["audit.actor"] == "ana"  # type: ignore[index]
    assert replayed.attributes["dlq.id"] == str(letter["id"])  # type: ignore[index]
    refund_trace = engine.store.run(refund).traceparent.split("-")[1]
    runs = [s for s in cap.spans.get_finished_spans() if s.name == "run refund_flow"]
    assert [s.attributes["run.outcome"] for s in runs] == ["dead_lettered", "completed"]  # type: ignore[index]
    assert {f"{s.context.trace_id:032x}" for s in runs} == {refund_trace}
    assert runs[1].attributes["run.replay"] is True  # type: ignore[index]
    assert runs[1].parent.span_id == runs[0].context.span_id  # type: ignore[union-attr]
    assert [e.name for e in runs[0].events] == ["dead_letter"]


def test_gauges_report_dlq_depth_queue_lag_and_breaker_state(sqlite_db: StateDb) -> None:
    from orchestrator.service import publish_gauges

    cap, clock = Captured(), VirtualClock(start=T0)
    engine = Engine(sqlite_db.open(), clock=clock, telemetry=cap.telemetry, seed=1,
                    breaker_threshold=1)  # fmt: skip
    sample_flows.failures["flaky"] = 1
    _submit(engine, "refund_flow", {"id": "r-1", "amount": "bad"})  # poison: dead letter
    assert engine.run_once("w") is not None
    _submit(engine, "retry_flow", {"x": 1})
    assert engine.run_once("w") is not None  # fails once: the 1-failure breaker opens
    clock.advance(3600)  # the rescheduled run has waited far longer than its backoff
    publish_gauges(engine)
    points = cap.metric_points()
    assert [(p.attributes, p.value) for p in points["flowmeter.dlq.depth"]] == [
        ({"workflow.name": "refund_flow"}, 1)
    ]
    lag = points["flowmeter.queue.lag"][0]
    assert lag.attributes == {"queue": "default"} and 3500 < lag.value <= 3600
    assert [(p.attributes, p.value) for p in points["flowmeter.breaker.state"]] == [
        ({"breaker.name": "erp"}, 2)
    ]
    assert points["flowmeter.dlq.additions"][0].attributes == {
        "workflow.name": "refund_flow", "dlq.reason": "poison"
    }  # fmt: skip


def test_a_run_parked_for_approval_emits_a_waiting_run_span_in_its_trace(
    sqlite_db: StateDb,
) -> None:
    cap, clock = Captured(), VirtualClock(start=T0)
    engine = Engine(sqlite_db.open(), clock=clock, telemetry=cap.telemetry, seed=1)
    run_id = _submit(engine, "approval_flow", {})
    assert engine.run_once("w") == run_id
    parked = [s for s in cap.spans.get_finished_spans() if s.name == "run approval_flow"]
    assert [s.attributes["run.outcome"] for s in parked] == ["waiting"]  # type: ignore[index]
    waiting = parked[0]
    traceparent = engine.store.run(run_id).traceparent
    assert f"{waiting.context.trace_id:032x}" == traceparent.split("-")[1]
    # A child of the run's stored span, which stays free for the final run span.
    assert f"{waiting.parent.span_id:016x}" == traceparent.split("-")[2]  # type: ignore[union-attr]
    assert set(waiting.attributes or {}) >= RUN_KEYS
    assert waiting.attributes["approval.name"] == "manager"  # type: ignore[index]
    assert [e.name for e in waiting.events] == ["approval.requested"]
    assert waiting.status.status_code == StatusCode.UNSET
    assert cap.metric_points().get("flowmeter.runs.failed") is None

    clock.advance(60)
    OrchestratorAPI(engine.store, clock=clock).approve(run_id, actor="ana", reason="ok")
    assert engine.run_once("w") == run_id
    runs = [s for s in cap.spans.get_finished_spans() if s.name == "run approval_flow"]
    assert [s.attributes["run.outcome"] for s in runs] == ["waiting", "completed"]  # type: ignore[index]
    assert f"{runs[1].context.span_id:016x}" == traceparent.split("-")[2]
    assert runs[1].start_time == int(T0 * 1e9) and runs[1].end_time == int((T0 + 60) * 1e9)
