"""The virtual-time demo backfill: same engine and flows, simulated timestamps, ROI baselines."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from models.db import Store
from models.settings import load_settings
from orchestrator.api import OrchestratorAPI
from orchestrator.demo import DemoPlan, run_backfill
from orchestrator.telemetry import Telemetry

END = datetime(2026, 11, 25, 18, 0, tzinfo=UTC).timestamp()  # a Wednesday evening


def test_outage_falls_on_a_weekday_inside_the_window() -> None:
    plan = DemoPlan(start=END - 14 * 86400, end=END, seed=7)
    start, stop = plan.outage()
    assert plan.start <= start < stop <= plan.end
    assert datetime.fromtimestamp(start, UTC).weekday() < 5
    assert stop - start == 2 * 3600


def test_backfill_writes_history_at_simulated_times_with_manual_runs_before_go_live(
    store: Store, tmp_path: Path
) -> None:
    settings = load_settings(env={"FLOWMETER_DATA_DIR": str(tmp_path)})
    spans, logs = InMemorySpanExporter(), InMemoryLogRecordExporter()
    telemetry = Telemetry(span_exporter=spans, log_exporter=logs,
                          metric_reader=InMemoryMetricReader())  # fmt: skip
    stats = run_backfill(settings, store, telemetry, days=4, seed=7, end=END)
    assert stats["runs"] > 200 and stats["baselines"] == 4
    assert stats["completed"] > 0.8 * stats["runs"]

    _, rows = store.read_only(
        "SELECT workflow, version, changed_by, go_live_at, reason FROM roi_baselines ORDER BY workflow"
    )
    assert [r[0] for r in rows] == ["invoice_generation", "lead_qualification",
                                    "order_to_cash", "refund_handling"]  # fmt: skip
    assert {(r[1], r[2]) for r in rows} == {(1, "demo")}
    go_live = {r[0]: r[3].replace(tzinfo=UTC).timestamp() for r in rows}
    assert all(END - 4 * 86400 < t < END for t in go_live.values())

    run_spans = [s for s in spans.get_finished_spans() if s.name.startswith("run ")]
    assert all(END - 4 * 86400 <= s.start_time / 1e9 <= END + 3600 for s in run_spans)
    modes = Counter(
        (s.attributes["run.mode"], s.start_time / 1e9 < go_live[str(s.attributes["workflow.name"])])  # type: ignore[index]
        for s in run_spans
    )
    assert set(modes) == {("manual", True), ("automated", False)}  # manual exactly before go-live
    services = {s.resource.attributes["service.name"] for s in spans.get_finished_spans()}
    assert {"flowmeter-orchestrator", "payments-api", "erp", "crm", "email", "shipping"} <= services
    kpis = Counter(r.log_record.event_name for r in logs.get_finished_logs())
    assert kpis["kpi.order_advanced"] > 0 and kpis["kpi.invoice_posted"] > 0
    assert kpis["kpi.sla_missed"] > 0 and kpis["kpi.sla_met"] > 0

    api = OrchestratorAPI.from_settings(settings)
    letters = api.dead_letters()
    assert len(letters) == stats["dead_letters"] > 0
    assert "retries_exhausted" in {d["reason"] for d in letters}  # the ERP outage
    events = [
        e for s in spans.get_finished_spans() for e in s.events if e.name == "breaker.state_change"
    ]
    assert ("closed", "open") in {
        (e.attributes["breaker.from"], e.attributes["breaker.to"]) for e in events
    }  # type: ignore[index]
    api.close()


class _Collected(MetricExporter):
    """Keeps what the SDK hands an exporter (the SDK's interface, not one of our parts)."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[MetricsData] = []

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000,
               **kwargs: Any) -> MetricExportResult:  # fmt: skip
        self.batches.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        return None


def test_backfill_metrics_carry_simulated_times_across_the_days(
    store: Store, tmp_path: Path
) -> None:
    settings = load_settings(env={"FLOWMETER_DATA_DIR": str(tmp_path)})
    exported = _Collected()
    wall = time.time()
    telemetry = Telemetry(span_exporter=InMemorySpanExporter(),
                          log_exporter=InMemoryLogRecordExporter(), metric_exporter=exported)  # fmt: skip
    run_backfill(settings, store, telemetry, days=4, seed=7, end=END)
    times: dict[str, list[float]] = {}
    for batch in exported.batches:
        for rm in batch.resource_metrics:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    times.setdefault(metric.name, []).extend(
                        p.time_unix_nano / 1e9 for p in metric.data.data_points
                    )
    start = END - 4 * 86400
    for name in ("flowmeter.dlq.depth", "flowmeter.queue.lag", "flowmeter.breaker.state",
                 "flowmeter.runs.completed"):  # fmt: skip
        # Simulated times, except the flush at the end (the periodic reader, wall clock).
        simulated = [t for t in times[name] if t < wall]
        assert len(simulated) > 20 and all(start <= t <= END for t in simulated), name
    lag = sorted(t for t in set(times["flowmeter.queue.lag"]) if t < wall)
    assert len(lag) >= 4 * 24 * 0.9  # about one sample per simulated hour (GAUGE_TICK)
    assert lag[0] < start + 3600 and lag[-1] > END - 3600  # history over the whole window
    assert {int((t - start) // 86400) for t in lag} >= {0, 1, 2, 3}  # samples on every day
    # DLQ depth exists from the first dead letter on (the ERP outage is in the last days).
    assert max(times["flowmeter.dlq.depth"]) > END - 86400
    telemetry.shutdown()
