"""Logs and metrics requests -> ClickHouse columns, as the Collector's clickhouseexporter writes.

Pure functions: parsed requests in, ``{table: (column names, columns)}`` out. Traces do not
come through here: ClickHouse decodes them itself (sql/schema/100_collectors_traces.sql).
Values follow pdata's ``Value.AsString``: ints and doubles as text, bools ``true``/``false``,
bytes base64, arrays and maps as JSON.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from collectors.redaction import Redactor

__all__ = ["Columns", "Decoder", "any_value", "any_value_str"]


def _number(value: float) -> str:
    if value == value and abs(value) < 1e16 and value == int(value):
        return str(int(value))
    return repr(value)


def any_value(value: Any) -> Any:
    """An OTLP AnyValue as a plain Python value (for JSON rendering)."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    return None


def any_value_str(value: Any) -> str:
    """An OTLP AnyValue as the exporter's string."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return str(value.string_value)
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "int_value":
        return str(value.int_value)
    if kind == "double_value":
        return _number(value.double_value)
    if kind is None:
        return ""
    rendered = any_value(value)
    if isinstance(rendered, str):
        return rendered
    return json.dumps(rendered, separators=(",", ":"), ensure_ascii=False)


@dataclass
class Columns:
    """Column-oriented rows for one table."""

    names: tuple[str, ...]
    data: list[list[Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.data:
            self.data = [[] for _ in self.names]

    def add(self, *values: Any) -> None:
        """Append one row."""
        for column, value in zip(self.data, values, strict=True):
            column.append(value)

    @property
    def rows(self) -> int:
        """Number of rows held."""
        return len(self.data[0]) if self.data else 0


LOG_COLUMNS = (
    "Timestamp", "TraceId", "SpanId", "TraceFlags", "SeverityText", "SeverityNumber",
    "ServiceName", "Body", "ResourceSchemaUrl", "ResourceAttributes", "ScopeSchemaUrl",
    "ScopeName", "ScopeVersion", "ScopeAttributes", "LogAttributes", "EventName",
)  # fmt: skip
_COMMON = (
    "ResourceAttributes", "ResourceSchemaUrl", "ScopeName", "ScopeVersion", "ScopeAttributes",
    "ScopeDroppedAttrCount", "ScopeSchemaUrl", "ServiceName", "MetricName", "MetricDescription",
    "MetricUnit", "Attributes", "StartTimeUnix", "TimeUnix",
)  # fmt: skip
_EXEMPLARS = (
    "Exemplars.FilteredAttributes", "Exemplars.TimeUnix", "Exemplars.Value",
    "Exemplars.SpanId", "Exemplars.TraceId",
)  # fmt: skip
METRIC_COLUMNS: dict[str, tuple[str, ...]] = {
    "otel_metrics_gauge": (*_COMMON, "Value", "Flags", *_EXEMPLARS),
    "otel_metrics_sum": (*_COMMON, "Value", "Flags", *_EXEMPLARS, "AggregationTemporality", "IsMonotonic"),
    "otel_metrics_histogram": (
        *_COMMON, "Count", "Sum", "BucketCounts", "ExplicitBounds", *_EXEMPLARS, "Flags",
        "Min", "Max", "AggregationTemporality",
    ),
    "otel_metrics_exponential_histogram": (
        *_COMMON, "Count", "Sum", "Scale", "ZeroCount", "PositiveOffset", "PositiveBucketCounts",
        "NegativeOffset", "NegativeBucketCounts", *_EXEMPLARS, "Flags", "Min", "Max",
        "AggregationTemporality",
    ),
    "otel_metrics_summary": (
        *_COMMON, "Count", "Sum", "ValueAtQuantiles.Quantile", "ValueAtQuantiles.Value", "Flags",
    ),
}  # fmt: skip
_TABLE_OF_KIND = {
    "gauge": "otel_metrics_gauge",
    "sum": "otel_metrics_sum",
    "histogram": "otel_metrics_histogram",
    "exponential_histogram": "otel_metrics_exponential_histogram",
    "summary": "otel_metrics_summary",
}


class Decoder:
    """Turns parsed logs/metrics requests into columns, redacting and capping attributes."""

    def __init__(self, redactor: Redactor, max_attributes: int) -> None:
        self.redactor = redactor
        self.max_attributes = max_attributes

    def attributes(self, pairs: Any) -> dict[str, str]:
        """KeyValue list -> redacted ``{key: string}`` with at most max_attributes keys."""
        out: dict[str, str] = {}
        for kv in pairs[: self.max_attributes]:
            out[kv.key] = any_value_str(kv.value)
        return self.redactor.apply(out)

    # --- logs ------------------------------------------------------------------------------
    def logs(self, requests: Iterable[Any]) -> Columns:
        """otel_logs columns for every log record of the requests."""
        cols = Columns(LOG_COLUMNS)
        for request in requests:
            for rl in request.resource_logs:
                resource = self.attributes(rl.resource.attributes)
                service = resource.get("service.name", "")
                for sl in rl.scope_logs:
                    scope = self.attributes(sl.scope.attributes)
                    for r in sl.log_records:
                        cols.add(
                            r.time_unix_nano or r.observed_time_unix_nano,
                            r.trace_id.hex(),
                            r.span_id.hex(),
                            r.flags & 0xFF,
                            r.severity_text,
                            max(0, min(255, r.severity_number)),
                            service,
                            any_value_str(r.body),
                            rl.schema_url,
                            resource,
                            sl.schema_url,
                            sl.scope.name,
                            sl.scope.version,
                            scope,
                            self.attributes(r.attributes),
                            event_name(r),
                        )
        return cols

    # --- metrics ---------------------------------------------------------------------------
    def metrics(self, requests: Iterable[Any]) -> dict[str, Columns]:
        """Columns per otel_metrics_* table for every data point of the requests."""
        tables = {name: Columns(names) for name, names in METRIC_COLUMNS.items()}
        for request in requests:
            for rm in request.resource_metrics:
                resource = self.attributes(rm.resource.attributes)
                service = resource.get("service.name", "")
                for sm in rm.scope_metrics:
                    scope = self.attributes(sm.scope.attributes)
                    head = (
                        resource, rm.schema_url, sm.scope.name, sm.scope.version, scope,
                        sm.scope.dropped_attributes_count, sm.schema_url, service,
                    )  # fmt: skip
                    for metric in sm.metrics:
                        kind = metric.WhichOneof("data")
                        if kind not in _TABLE_OF_KIND:
                            continue
                        data = getattr(metric, kind)
                        meta = (*head, metric.name, metric.description, metric.unit)
                        self._points(tables[_TABLE_OF_KIND[kind]], kind, data, meta)
        return {name: cols for name, cols in tables.items() if cols.rows}

    def _points(self, cols: Columns, kind: str, data: Any, meta: tuple[Any, ...]) -> None:
        for p in data.data_points:
            common = (
                *meta,
                self.attributes(p.attributes),
                p.start_time_unix_nano // 1_000_000_000,
                p.time_unix_nano // 1_000_000_000,
            )
            if kind in ("gauge", "sum"):
                value = float(p.as_int) if p.WhichOneof("value") == "as_int" else p.as_double
                row = (*common, value, p.flags, *self._exemplars(p.exemplars))
                if kind == "sum":
                    row = (*row, int(data.aggregation_temporality), bool(data.is_monotonic))
                cols.add(*row)
            elif kind == "histogram":
                cols.add(
                    *common, p.count, p.sum, list(p.bucket_counts), list(p.explicit_bounds),
                    *self._exemplars(p.exemplars), p.flags, p.min, p.max,
                    int(data.aggregation_temporality),
                )  # fmt: skip
            elif kind == "exponential_histogram":
                cols.add(
                    *common, p.count, p.sum, p.scale, p.zero_count, p.positive.offset,
                    list(p.positive.bucket_counts), p.negative.offset,
                    list(p.negative.bucket_counts), *self._exemplars(p.exemplars), p.flags,
                    p.min, p.max, int(data.aggregation_temporality),
                )  # fmt: skip
            else:
                cols.add(
                    *common, p.count, p.sum, [q.quantile for q in p.quantile_values],
                    [q.value for q in p.quantile_values], p.flags,
                )  # fmt: skip

    def _exemplars(self, exemplars: Any) -> tuple[list[Any], ...]:
        attrs, times, values, spans, traces = [], [], [], [], []
        for e in exemplars:
            attrs.append(self.attributes(e.filtered_attributes))
            times.append(e.time_unix_nano // 1_000_000_000)
            values.append(float(e.as_int) if e.WhichOneof("value") == "as_int" else e.as_double)
            spans.append(e.span_id.hex())
            traces.append(e.trace_id.hex())
        return attrs, times, values, spans, traces


def event_name(record: Any) -> str:
    """A log record's event name: OTLP ``event_name``, else its ``event.name`` attribute."""
    if record.event_name:
        return str(record.event_name)
    for kv in record.attributes:
        if kv.key == "event.name":
            return any_value_str(kv.value)
    return ""
