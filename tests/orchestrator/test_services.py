"""`flowmeter up --demo` runs demo traffic as its own service beside the workers."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from models.settings import load_settings
from orchestrator.demo_service import DEMO_MARKER, DemoTrafficService
from orchestrator.service import OrchestratorService
from orchestrator.telemetry import Telemetry
from tests.test_package_layout import import_graph


def _telemetry() -> Telemetry:
    return Telemetry(span_exporter=InMemorySpanExporter(), log_exporter=InMemoryLogRecordExporter(),
                     metric_reader=InMemoryMetricReader(), synchronous=True)  # fmt: skip


def test_the_production_service_does_not_import_the_demo() -> None:
    graph = import_graph()
    assert not any(m.startswith("orchestrator.demo") for m in graph["orchestrator.service"])
    assert "orchestrator.service" not in graph["orchestrator.demo_service"]


def test_workers_start_only_once_the_demo_backfill_is_done(tmp_path: Path) -> None:
    settings = load_settings(env={"FLOWMETER_DATA_DIR": str(tmp_path), "FLOWMETER_WORKERS": "1"})
    telemetry = _telemetry()
    traffic = DemoTrafficService(settings, telemetry, clickhouse=None)  # type: ignore[arg-type]
    workers = OrchestratorService(settings, telemetry, start_after=traffic.backfilled)
    workers.start()
    try:
        assert workers.pool is not None and workers.pool._threads == []  # gated
        (tmp_path / DEMO_MARKER).write_text("{}")  # backfilled before: nothing to simulate
        traffic.start()
        assert traffic.backfilled.wait(60)
        assert workers._gate is not None
        workers._gate.join(60)
        assert not workers._gate.is_alive()
        assert len(workers.pool._threads) == 1 + 2  # one worker, the heartbeat, the sweep
    finally:
        traffic.stop(5.0)
        workers.stop(5.0)
