"""Temporal, Airflow, plain HTTP and native spans through a running receiver with the profiles on.

Temporal's dev server and Airflow cannot be downloaded here, so these spans are built with the
real OTel SDK and exported by its real OTLP/HTTP exporter exactly as those integrations build
them: temporalio.contrib.opentelemetry.TracingInterceptor as of temporalio 1.35 (names,
kinds, attributes, zero-duration workflow spans, the failure recorded as an `exception` event
on CompleteWorkflow), and Airflow 3's DAG run / task spans as in Airflow's own OTel test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from models.db import Store
from models.health import health_summary
from models.workflows import workflow_list
from tests.collectors.conftest import rows

SECOND = 1_000_000_000


@contextmanager
def exporter(port: int, service: str) -> Iterator[trace.Tracer]:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"http://127.0.0.1:{port}/v1/traces"))
    )
    yield provider.get_tracer("test")
    provider.shutdown()


def temporal_run(
    tracer: trace.Tracer, t0: int, workflow: str, activities: list[tuple[str, str, bool]],
    *, failed: bool,
) -> None:  # fmt: skip
    """One workflow execution as TracingInterceptor reports it."""
    ids = {"temporalWorkflowID": f"{workflow}-{t0}", "temporalRunID": f"run-{t0}"}
    client = tracer.start_span(f"StartWorkflow:{workflow}", kind=SpanKind.CLIENT,
                               attributes={"temporalWorkflowID": ids["temporalWorkflowID"]},
                               start_time=t0)  # fmt: skip
    ctx = trace.set_span_in_context(client)
    client.end(t0 + SECOND // 100)
    start = tracer.start_span(f"RunWorkflow:{workflow}", ctx, kind=SpanKind.SERVER,
                              attributes=ids, start_time=t0 + SECOND // 50)  # fmt: skip
    start.end(t0 + SECOND // 50)
    at = t0 + SECOND // 10
    for name, activity_id, ok in activities:
        span = tracer.start_span(f"RunActivity:{name}", ctx, kind=SpanKind.SERVER,
                                 attributes={"temporalActivityID": activity_id, **ids},
                                 start_time=at)  # fmt: skip
        if not ok:
            span.set_status(Status(StatusCode.ERROR, "ApplicationError: card declined"))
        span.end(at + SECOND // 10)
        at += SECOND // 5
    end = tracer.start_span(f"CompleteWorkflow:{workflow}", ctx, attributes=ids, start_time=at)
    if failed:
        end.record_exception(RuntimeError("activity failed"))
    end.end(at)


def test_temporal_airflow_http_and_native_spans(
    make_receivers: Callable[..., tuple[Any, Any, Any]], store: Store, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('profiles = ["celery", "prefect", "temporal", "airflow", "http"]\n')
    pipeline, http, _ = make_receivers(rules_file=rules)
    now = datetime.now(UTC)
    t0 = int((now - timedelta(minutes=2)).timestamp() * SECOND)
    with exporter(http.port, "orders-worker") as tracer:
        temporal_run(tracer, t0, "OrderWorkflow",
                     [("charge", "1", False), ("charge", "1", True), ("ship", "2", True)],
                     failed=False)  # fmt: skip
        temporal_run(tracer, t0 + SECOND, "OrderWorkflow",
                     [("charge", "1", False), ("charge", "1", False), ("charge", "1", False)],
                     failed=True)  # fmt: skip
        temporal_run(tracer, t0 + 2 * SECOND, "RefundWorkflow", [("refund", "1", True)],
                     failed=False)  # fmt: skip
    with exporter(http.port, "Airflow") as tracer:
        for n, state in enumerate(["success", "failed"]):
            run_id = f"manual__{n}"
            dag = tracer.start_span("nightly_ledger", start_time=t0 + n * SECOND, attributes={
                "airflow.category": "DAG runs", "airflow.dag_run.dag_id": "nightly_ledger",
                "airflow.dag_run.run_id": run_id, "airflow.dag_run.state": state})  # fmt: skip
            ctx = trace.set_span_in_context(dag)
            tries = [("extract", 1, "success"), ("load", 1, "up_for_retry"),
                     ("load", 2, "success" if state == "success" else "failed")]  # fmt: skip
            for task, try_number, task_state in tries:
                tracer.start_span(task, ctx, start_time=t0 + n * SECOND, attributes={
                    "airflow.category": "scheduler", "airflow.task.task_id": task,
                    "airflow.task.dag_id": "nightly_ledger", "airflow.task.state": task_state,
                    "airflow.task.try_number": try_number,
                }).end(t0 + n * SECOND + SECOND // 10)  # fmt: skip
            dag.end(t0 + n * SECOND + SECOND // 2)
    with exporter(http.port, "billing-api") as tracer:
        for status in (201, 201, 500):
            span = tracer.start_span("POST /invoices", kind=SpanKind.SERVER, start_time=t0,
                                     attributes={"http.request.method": "POST",
                                                 "http.route": "/invoices",
                                                 "http.response.status_code": status})  # fmt: skip
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
            span.end(t0 + SECOND // 20)
        tracer.start_span("GET /invoices", kind=SpanKind.SERVER, start_time=t0,
                          attributes={"http.route": "/invoices"}).end(t0 + 1000)  # fmt: skip
    with exporter(http.port, "flowmeter-orchestrator") as tracer:
        # Flowmeter's own dialect: left exactly as sent.
        tracer.start_span("run order-to-cash", start_time=t0, attributes={
            "workflow.name": "order-to-cash", "run.outcome": "completed",
            "celery.action": "run"}).end(t0 + SECOND)  # fmt: skip
    assert pipeline.flush(30)

    start, end = now - timedelta(minutes=10), now + timedelta(minutes=10)
    listed = workflow_list(store, start, end).set_index("workflow")
    figures = {
        name: (row["source"], row["runs"], row["completed"], row["failed"], row["retries"])
        for name, row in listed.iterrows()
    }
    assert figures == {
        # one run per workflow execution; a failed attempt that a retry replaced fails nothing
        "OrderWorkflow": ("temporal", 2, 1, 1, 1 + 2),
        "RefundWorkflow": ("temporal", 1, 1, 0, 0),
        "nightly_ledger": ("airflow", 2, 1, 1, 2),
        "POST /invoices": ("http", 3, 2, 1, 0),
        "order-to-cash": ("flowmeter", 1, 1, 0, 0),
    }
    steps = health_summary(store, start, end, by="step").set_index("key")
    assert int(steps.loc["charge", "spans"]) == 5 and int(steps.loc["load", "retries"]) == 2
    native = rows(
        store, "SELECT SpanAttributes AS a FROM otel_traces WHERE SpanName = 'run order-to-cash'"
    )
    assert "flowmeter.kind" not in native[0]["a"]
