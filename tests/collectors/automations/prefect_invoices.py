"""Prefect 3 flows with its own run telemetry on, sent over OTLP/HTTP (recognition tests).

Run as ``python -m tests.collectors.automations.prefect_invoices`` with PREFECT_HOME and
OTEL_EXPORTER_OTLP_ENDPOINT set: Prefect starts its temporary local server, runs the flows,
and the tracer provider is flushed before the process ends. ``bad-*`` invoices fail
validation; ``flaky-*`` ones fail their ERP call twice, then succeed (task retries=2).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY", "true")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

provider = TracerProvider(resource=Resource.create({"service.name": "invoices-prefect"}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(provider)

from prefect import flow, task  # noqa: E402

attempts: dict[str, int] = {}


@task
def validate(invoice: str) -> str:
    if invoice.startswith("bad-"):
        raise ValueError(f"invoice {invoice} has no amount")
    return invoice


@task(retries=2, retry_delay_seconds=0)
def post_to_erp(invoice: str) -> str:
    attempts[invoice] = attempts.get(invoice, 0) + 1
    if invoice.startswith("flaky-") and attempts[invoice] <= 2:
        raise ConnectionError("ERP timed out")
    return invoice


@task
def archive(report: str) -> str:
    return report


@flow(name="invoice-intake", flow_run_name="invoice-intake-{invoice}")
def invoice_intake(invoice: str) -> str:
    return post_to_erp(validate(invoice))


@flow(name="month-end")
def month_end(month: str) -> str:
    return archive(month)


def main(invoices: list[str], months: list[str]) -> None:
    """Run every flow; a failed flow run is expected and does not stop the others."""
    for invoice in invoices:
        invoice_intake(invoice, return_state=True)
    for month in months:
        month_end(month, return_state=True)
    provider.shutdown()


if __name__ == "__main__":
    main(sys.argv[1].split(","), sys.argv[2].split(","))
