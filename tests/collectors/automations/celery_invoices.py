"""An ordinary Celery app, instrumented the standard way, that the recognition tests run.

Nothing in it knows Flowmeter: opentelemetry-instrumentation-celery and the OTLP/HTTP
exporter (endpoint from OTEL_EXPORTER_OTLP_ENDPOINT) are all. The worker runs as
``celery -A tests.collectors.automations.celery_invoices worker -P solo -Q $CELERY_QUEUE``;
``python -m tests.collectors.automations.celery_invoices`` sends the chains and waits for them.
Invoice ids tell the tasks how to behave: ``bad-*`` fails validation, ``flaky-*`` fails
its ERP call twice then succeeds, ``down-*`` fails every ERP attempt (3), ``fail-*`` refunds fail.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from celery import Celery, chain
from celery.signals import worker_shutdown
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

REDIS = os.environ.get("CELERY_REDIS", "redis://127.0.0.1:6379/0")
QUEUE = os.environ.get("CELERY_QUEUE", "flowmeter-test")

provider = TracerProvider(resource=Resource.create({"service.name": "invoices-worker"}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(provider)
CeleryInstrumentor().instrument()

app = Celery("invoices", broker=REDIS, backend=REDIS)
app.conf.task_default_queue = QUEUE
app.conf.worker_hijack_root_logger = False
app.conf.broker_connection_retry_on_startup = True


@worker_shutdown.connect
def _flush(**_: Any) -> None:
    provider.shutdown()


@app.task(name="invoices.validate")
def validate(invoice: str) -> str:
    trace.get_current_span().set_attribute("invoice.id", invoice)
    if invoice.startswith("bad-"):
        raise ValueError(f"invoice {invoice} has no amount")
    return invoice


@app.task(name="invoices.post_to_erp", bind=True, max_retries=2, default_retry_delay=0)
def post_to_erp(self: Any, invoice: str) -> str:
    trace.get_current_span().set_attribute("invoice.id", invoice)
    failing = invoice.startswith("down-") or (
        invoice.startswith("flaky-") and self.request.retries < 2
    )
    if failing:
        raise self.retry(exc=ConnectionError("ERP timed out"), countdown=0)
    return invoice


@app.task(name="invoices.notify")
def notify(invoice: str) -> str:
    return f"sent {invoice}"


@app.task(name="refunds.check")
def check_refund(refund: str) -> str:
    if refund.startswith("fail-"):
        raise RuntimeError(f"refund {refund} is over the limit")
    return refund


@app.task(name="refunds.issue")
def issue_refund(refund: str) -> str:
    return f"issued {refund}"


def run_all(invoices: list[str], refunds: list[str]) -> None:
    """Send every chain, then wait until each one settled (a failed task ends its chain)."""
    pending = [chain(validate.s(i), post_to_erp.s(), notify.s()).apply_async() for i in invoices]
    pending += [chain(check_refund.s(r), issue_refund.s()).apply_async() for r in refunds]
    for last in pending:
        steps = []
        node = last
        while node is not None:
            steps.append(node)
            node = node.parent
        for step in reversed(steps):
            step.get(timeout=120, propagate=False)
            if step.failed():
                break
    provider.shutdown()


if __name__ == "__main__":
    run_all(sys.argv[1].split(","), sys.argv[2].split(","))
