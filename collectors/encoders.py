"""Records of a WAL segment -> the table inserts that store them, one encoder per signal.

Traces go to ClickHouse as they are (``FORMAT Protobuf`` into the ``otel_traces_ingest`` Null
table, decoded by its materialized view); logs and metrics are decoded here into columns
(collectors.rows). Logs also feed ``business_events`` from their ``kpi.*`` records, first,
because ``write_kpi_events`` is idempotent and a retry must not lose them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, cast

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from collectors import otlp
from collectors.inserts import InsertTarget, TableInsert
from collectors.kpi_store import write_kpi_events
from collectors.rows import Decoder
from collectors.wal import frame
from models.db import Store
from models.kpi import KpiEvent

__all__ = ["INSERT_PARTS", "LogsEncoder", "MetricsEncoder", "TracesEncoder", "encoder_for"]

TRACES_STAGING = "otel_traces_ingest"
INSERT_PARTS = 2  # concurrent inserts for one big trace segment
MIN_PART_ROWS = 5000  # ... each of at least this many spans
KPI_TABLE = "business_events"

KpiExtractor = Callable[[Any], list[KpiEvent]]


def _proto_schema() -> str:
    path = Path(str(resources.files("sql") / "proto" / "otlp_traces_staging.proto")).resolve()
    return f"{path}:TracesRequest"


def _columns_insert(table: str, names: tuple[str, ...], data: list[list[Any]]) -> TableInsert:
    def write(target: InsertTarget, token: str) -> None:
        target.insert(
            table,
            data,
            names,
            column_oriented=True,
            settings={"insert_deduplication_token": f"{token}-{table}"},
        )

    return TableInsert(table, write)


class TracesEncoder:
    """Trace records go in as they lie on disk; ClickHouse decodes them."""

    numbered_parts = True

    def __init__(self, tail: bytes = b"") -> None:
        self._schema = _proto_schema()
        self._tail = tail  # the redaction inputs each staged request carries (ADR 0007)

    def parts(self, rows: int, records: int) -> int:
        """A big segment is cut in INSERT_PARTS (one ClickHouse insert runs on one core)."""
        return min(INSERT_PARTS, max(1, rows // MIN_PART_ROWS), max(1, records))

    def rows(self, record: bytes) -> int:
        """Spans in one record."""
        return otlp.count_rows("traces", otlp.REQUEST_TYPES["traces"].FromString(record))

    def inserts(self, records: Sequence[bytes]) -> list[TableInsert]:
        """One ``FORMAT Protobuf`` insert of the framed records."""
        tail = self._tail
        payload = b"".join(frame(r + tail) for r in records)
        schema = self._schema

        def write(target: InsertTarget, token: str) -> None:
            target.insert_raw(
                TRACES_STAGING,
                payload,
                "Protobuf",
                settings={
                    "format_schema": schema,
                    "insert_deduplication_token": token,
                    "deduplicate_blocks_in_dependent_materialized_views": 1,
                },
            )

        return [TableInsert(TRACES_STAGING, write)]


class LogsEncoder:
    """Log records -> KPI events (business_events) and otel_logs columns."""

    numbered_parts = False

    def __init__(self, decoder: Decoder, kpi_events: KpiExtractor) -> None:
        self.decoder = decoder
        self.kpi_events = kpi_events

    def parts(self, rows: int, records: int) -> int:
        """Logs go in as one insert per table."""
        return 1

    def rows(self, record: bytes) -> int:
        """Log records in one record."""
        return otlp.count_rows("logs", ExportLogsServiceRequest.FromString(record))

    def inserts(self, records: Sequence[bytes]) -> list[TableInsert]:
        """business_events (idempotent, first) then otel_logs."""
        requests = [ExportLogsServiceRequest.FromString(r) for r in records]
        events = [event for request in requests for event in self.kpi_events(request)]
        inserts = []
        if events:

            def write_events(target: InsertTarget, token: str) -> None:
                # The Store is the only InsertTarget in production; kpi_store types it so.
                write_kpi_events(cast(Store, target), events)

            inserts.append(TableInsert(KPI_TABLE, write_events))
        cols = self.decoder.logs(requests)
        if cols.rows:
            inserts.append(_columns_insert("otel_logs", cols.names, cols.data))
        return inserts


class MetricsEncoder:
    """Data points -> columns of the otel_metrics_* tables, one insert per table."""

    numbered_parts = False

    def __init__(self, decoder: Decoder) -> None:
        self.decoder = decoder

    def parts(self, rows: int, records: int) -> int:
        """Metrics go in as one insert per table."""
        return 1

    def rows(self, record: bytes) -> int:
        """Data points in one record."""
        return otlp.count_rows("metrics", ExportMetricsServiceRequest.FromString(record))

    def inserts(self, records: Sequence[bytes]) -> list[TableInsert]:
        """One insert per otel_metrics_* table that has rows, in a fixed order."""
        requests = [ExportMetricsServiceRequest.FromString(r) for r in records]
        return [
            _columns_insert(table, cols.names, cols.data)
            for table, cols in self.decoder.metrics(requests).items()
        ]


def encoder_for(
    signal: str, decoder: Decoder, kpi_events: KpiExtractor
) -> TracesEncoder | LogsEncoder | MetricsEncoder:
    """The encoder of one signal."""
    if signal == "traces":
        return TracesEncoder(decoder.redactor.staging_tail)
    if signal == "logs":
        return LogsEncoder(decoder, kpi_events)
    return MetricsEncoder(decoder)
