"""Money stays Decimal from the workflow to the KPI event: no float on the way."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from models.kpi import kpi_event_from_log
from orchestrator.clock import VirtualClock
from orchestrator.engine import Engine
from orchestrator.telemetry import Telemetry
from orchestrator.workflow import as_money, kpi, step, workflow
from tests.orchestrator.conftest import StateDb


@step("book_revenue")
def book_revenue(parts: list[str]) -> str:
    total = sum((Decimal(p) for p in parts), Decimal(0))
    kpi("revenue_booked", amount=total, currency="EUR")
    return str(total)


@workflow("money_flow")
def money_flow(payload: dict[str, Any]) -> str:
    return str(book_revenue(payload["parts"]))


@pytest.mark.parametrize(
    ("parts", "text"),
    [
        (["0.1", "0.2"], "0.3"),  # as floats: 0.30000000000000004
        (["1234567.005"], "1234567.005"),  # as a float formatted .2f: 1234567.00
        (["0.1", "0.7"], "0.8"),  # as floats: 0.7999999999999999
        (["99999999999999.9999"], "99999999999999.9999"),  # the contract's largest amount
    ],
)
def test_a_decimal_amount_reaches_the_event_and_the_contract_exactly(
    sqlite_db: StateDb, parts: list[str], text: str
) -> None:
    logs = InMemoryLogRecordExporter()
    telemetry = Telemetry(span_exporter=InMemorySpanExporter(), log_exporter=logs,
                          metric_reader=InMemoryMetricReader(), synchronous=True)  # fmt: skip
    engine = Engine(sqlite_db.open(), clock=VirtualClock(start=1_800_000_000.0),
                    telemetry=telemetry)  # fmt: skip
    run_id = engine.submit("money_flow", {"parts": parts})
    assert engine.run_once("w") == run_id
    (record,) = [
        r.log_record for r in logs.get_finished_logs()
        if r.log_record.event_name == "kpi.revenue_booked"
    ]  # fmt: skip
    attributes = dict(record.attributes or {})
    assert attributes["kpi.amount"] == text
    event = kpi_event_from_log("kpi.revenue_booked", attributes, timestamp_ns=record.timestamp or 1)
    assert event.amount == Decimal(text) and str(event.amount) == text
    engine.store.close()


def test_a_float_is_money_only_when_it_is_an_exact_amount() -> None:
    assert as_money(19.99) == Decimal("19.99") and str(as_money(40.0)) == "40.0"
    assert as_money("1234567.005") == Decimal("1234567.005") and as_money(7) == Decimal(7)
    with pytest.raises(ValueError, match=r"0\.30000000000000004 is a float that is not an exact"):
        as_money(0.1 + 0.2)
    with pytest.raises(ValueError, match="not a decimal number"):
        as_money("12,50")
    with pytest.raises(ValueError, match="must be a number"):
        as_money(True)  # type: ignore[arg-type]
