"""OTLP request bytes -> a validated protobuf message (protobuf or OTLP JSON, gzip or not).

Every refusal is an ``IngestError`` whose message names the problem (field path, limit) and
whose status is the HTTP status to answer: 400 bad body, 413 too large, 415 wrong type.
Protobuf parsing is upb (C); the Python loops here touch ids and counts only, never
attribute values, so they stay cheap at 512 spans per request.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterator
from typing import Any, Final, Literal

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from models.errors import IngestError

__all__ = [
    "JSON",
    "PROTOBUF",
    "SIGNALS",
    "Signal",
    "build_response",
    "cap_span_attributes",
    "count_rows",
    "decompress",
    "parse_request",
    "response_for",
    "stamp_tenant",
    "validate",
]

Signal = Literal["traces", "metrics", "logs"]
SIGNALS: Final[tuple[Signal, ...]] = ("traces", "metrics", "logs")
PROTOBUF: Final = "application/x-protobuf"
JSON: Final = "application/json"
TENANT_KEY: Final = "tenant.id"

REQUEST_TYPES: Final[dict[str, type[Message]]] = {
    "traces": ExportTraceServiceRequest,
    "metrics": ExportMetricsServiceRequest,
    "logs": ExportLogsServiceRequest,
}
_RESPONSE_TYPES: Final[dict[str, type[Message]]] = {
    "traces": ExportTraceServiceResponse,
    "metrics": ExportMetricsServiceResponse,
    "logs": ExportLogsServiceResponse,
}
_REJECTED_FIELD: Final = {
    "traces": "rejected_spans",
    "metrics": "rejected_data_points",
    "logs": "rejected_log_records",
}
_METRIC_KINDS: Final = ("gauge", "sum", "histogram", "exponential_histogram", "summary")
_JSON_METRIC_KINDS: Final = ("gauge", "sum", "histogram", "exponentialHistogram", "summary")


def decompress(body: bytes, encoding: str | None, max_bytes: int) -> bytes:
    """Undo ``Content-Encoding: gzip`` without ever inflating more than ``max_bytes``."""
    encoding = (encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise IngestError(f"Content-Encoding {encoding!r} is not supported (use gzip)", 415)
    inflater = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)
    try:
        out = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise IngestError(f"body is not valid {encoding}: {exc}") from None
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise IngestError(
            f"decompressed body exceeds FLOWMETER_MAX_DECOMPRESSED_BYTES ({max_bytes} bytes)", 413
        )
    if not inflater.eof:
        raise IngestError(f"body is truncated {encoding}")
    return out


def media_type(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` -> ``application/json``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_request(signal: str, body: bytes, content_type: str) -> Message:
    """Decode one Export*ServiceRequest from protobuf or OTLP JSON bytes (not validated yet)."""
    if signal not in REQUEST_TYPES:
        raise IngestError(f"unknown signal {signal!r}", 404)
    message = REQUEST_TYPES[signal]()
    kind = media_type(content_type)
    if kind == PROTOBUF:
        try:
            message.ParseFromString(body)
        except DecodeError as exc:
            raise IngestError(
                f"body is not a valid OTLP protobuf {signal} request: {exc}"
            ) from None
    elif kind == JSON:
        _parse_json(signal, body, message)
    else:
        raise IngestError(
            f"Content-Type {content_type!r} is not supported: use {PROTOBUF} or {JSON}", 415
        )
    return message


def _parse_json(signal: str, body: bytes, message: Message) -> None:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IngestError(f"body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise IngestError("body must be a JSON object (an OTLP export request)")
    for path, holder, key in _json_ids(signal, document):
        value = holder[key]
        if not isinstance(value, str):
            raise IngestError(f"{path}: ids are hex strings in OTLP JSON")
        try:
            holder[key] = base64.b64encode(bytes.fromhex(value)).decode()
        except ValueError:
            raise IngestError(f"{path}: {value!r} is not a hex id") from None
    try:
        json_format.ParseDict(document, message, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise IngestError(f"body is not a valid OTLP JSON {signal} request: {exc}") from None


def _items(holder: Any, *keys: str) -> Iterator[tuple[str, Any]]:
    for key in keys:
        value = holder.get(key) if isinstance(holder, dict) else None
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield f"{key}[{i}]", item
            return


def _id_fields(path: str, item: Any, names: tuple[str, ...]) -> Iterator[tuple[str, Any, str]]:
    if not isinstance(item, dict):
        return
    for name in names:
        if name in item and item[name] not in ("", None):
            yield f"{path}.{name}", item, name


_TRACE_IDS = ("traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id")
_SHORT_IDS = ("traceId", "trace_id", "spanId", "span_id")


def _json_ids(signal: str, doc: dict[str, Any]) -> Iterator[tuple[str, Any, str]]:
    """Every hex id field of an OTLP JSON document: (path, holder dict, key)."""
    if signal == "traces":
        for p1, rs in _items(doc, "resourceSpans", "resource_spans"):
            for p2, ss in _items(rs, "scopeSpans", "scope_spans"):
                for p3, span in _items(ss, "spans"):
                    path = f"{p1}.{p2}.{p3}"
                    yield from _id_fields(path, span, _TRACE_IDS)
                    for p4, link in _items(span, "links"):
                        yield from _id_fields(f"{path}.{p4}", link, _SHORT_IDS)
    elif signal == "logs":
        for p1, rl in _items(doc, "resourceLogs", "resource_logs"):
            for p2, sl in _items(rl, "scopeLogs", "scope_logs"):
                for p3, record in _items(sl, "logRecords", "log_records"):
                    yield from _id_fields(f"{p1}.{p2}.{p3}", record, _SHORT_IDS)
    else:
        for p1, rm in _items(doc, "resourceMetrics", "resource_metrics"):
            for p2, sm in _items(rm, "scopeMetrics", "scope_metrics"):
                for p3, metric in _items(sm, "metrics"):
                    for kind in (*_JSON_METRIC_KINDS, "exponential_histogram"):
                        data = metric.get(kind) if isinstance(metric, dict) else None
                        for p4, point in _items(data, "dataPoints", "data_points"):
                            for p5, ex in _items(point, "exemplars"):
                                path = f"{p1}.{p2}.{p3}.{kind}.{p4}.{p5}"
                                yield from _id_fields(path, ex, _SHORT_IDS)


def _check_id(path: str, value: bytes, size: int, *, optional: bool) -> None:
    if len(value) != size and not (optional and not value):
        raise IngestError(f"{path}: must be {size} bytes, got {len(value)}")


def validate(signal: str, message: Any, max_attributes: int = 1 << 30) -> bool:
    """Refuse ids of the wrong length; True when a span carries more than ``max_attributes``.

    These are the only per-record checks done in Python: one cheap pass over the spans.
    """
    over = False
    if signal == "traces":
        for i, rs in enumerate(message.resource_spans):
            over = over or len(rs.resource.attributes) > max_attributes
            for j, ss in enumerate(rs.scope_spans):
                for k, span in enumerate(ss.spans):
                    if (
                        len(span.trace_id) != 16
                        or len(span.span_id) != 8
                        or len(span.parent_span_id) not in (0, 8)
                    ):
                        path = f"resourceSpans[{i}].scopeSpans[{j}].spans[{k}]"
                        _check_id(f"{path}.traceId", span.trace_id, 16, optional=False)
                        _check_id(f"{path}.spanId", span.span_id, 8, optional=False)
                        _check_id(f"{path}.parentSpanId", span.parent_span_id, 8, optional=True)
                    if len(span.attributes) > max_attributes:
                        over = True
                    if span.links:
                        path = f"resourceSpans[{i}].scopeSpans[{j}].spans[{k}]"
                        for n, link in enumerate(span.links):
                            _check_id(
                                f"{path}.links[{n}].traceId", link.trace_id, 16, optional=False
                            )
                            _check_id(f"{path}.links[{n}].spanId", link.span_id, 8, optional=False)
                            over = over or len(link.attributes) > max_attributes
                    if span.events:
                        over = over or any(len(e.attributes) > max_attributes for e in span.events)
        return over
    elif signal == "logs":
        for i, rl in enumerate(message.resource_logs):
            for j, sl in enumerate(rl.scope_logs):
                for k, record in enumerate(sl.log_records):
                    path = f"resourceLogs[{i}].scopeLogs[{j}].logRecords[{k}]"
                    _check_id(f"{path}.traceId", record.trace_id, 16, optional=True)
                    _check_id(f"{path}.spanId", record.span_id, 8, optional=True)
    else:
        for i, rm in enumerate(message.resource_metrics):
            for j, sm in enumerate(rm.scope_metrics):
                for k, metric in enumerate(sm.metrics):
                    for point in _points(metric):
                        for ex in point.exemplars:
                            path = f"resourceMetrics[{i}].scopeMetrics[{j}].metrics[{k}] exemplar"
                            _check_id(f"{path}.traceId", ex.trace_id, 16, optional=True)
                            _check_id(f"{path}.spanId", ex.span_id, 8, optional=True)
    return over


def _points(metric: Any) -> Any:
    kind = metric.WhichOneof("data")
    return getattr(metric, kind).data_points if kind in _METRIC_KINDS else ()


def count_rows(signal: str, message: Any) -> int:
    """Spans, log records or data points in one request (the rows it will become)."""
    if signal == "traces":
        return sum(len(ss.spans) for rs in message.resource_spans for ss in rs.scope_spans)
    if signal == "logs":
        return sum(len(sl.log_records) for rl in message.resource_logs for sl in rl.scope_logs)
    return sum(
        len(_points(m))
        for rm in message.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    )


def resources(signal: str, message: Any) -> Any:
    """The ResourceSpans / ResourceLogs / ResourceMetrics of a request."""
    return getattr(
        message,
        {"traces": "resource_spans", "logs": "resource_logs"}.get(signal, "resource_metrics"),
    )


def cap_span_attributes(message: Any, limit: int) -> None:
    """Keep at most ``limit`` attributes on every resource, span, span event and link."""
    for rs in message.resource_spans:
        if len(rs.resource.attributes) > limit:
            del rs.resource.attributes[limit:]
        for ss in rs.scope_spans:
            for span in ss.spans:
                if len(span.attributes) > limit:
                    del span.attributes[limit:]
                for item in (*span.events, *span.links):
                    if len(item.attributes) > limit:
                        del item.attributes[limit:]


def stamp_tenant(signal: str, message: Any, tenant: str) -> None:
    """Set ``tenant.id`` on every resource, replacing whatever the payload claimed."""
    for block in resources(signal, message):
        attributes = block.resource.attributes
        keep = [kv for kv in attributes if kv.key != TENANT_KEY]
        if len(keep) != len(attributes):
            del attributes[:]
            attributes.extend(keep)
        attributes.append(KeyValue(key=TENANT_KEY, value=AnyValue(string_value=tenant)))


def build_response(signal: str, rejected: int = 0, message: str = "") -> Any:
    """The Export*ServiceResponse message (with partial_success when something was rejected)."""
    response: Any = _RESPONSE_TYPES[signal]()
    if rejected or message:
        partial = response.partial_success
        setattr(partial, _REJECTED_FIELD[signal], rejected)
        partial.error_message = message
    return response


def response_for(
    signal: str, content_type: str, rejected: int = 0, message: str = ""
) -> tuple[bytes, str]:
    """The Export*ServiceResponse body, encoded like the request (protobuf or JSON)."""
    response = build_response(signal, rejected, message)
    if media_type(content_type) == JSON:
        return json_format.MessageToJson(response, indent=None).encode(), JSON
    return response.SerializeToString(), PROTOBUF


def error_body(content_type: str, status: int, message: str) -> tuple[bytes, str]:
    """A google.rpc.Status body, as OTLP/HTTP answers errors."""
    from google.rpc.status_pb2 import Status

    from collectors.status import grpc_code

    body = Status(code=grpc_code(status), message=message)
    if media_type(content_type) == JSON:
        return json_format.MessageToJson(body, indent=None).encode(), JSON
    return body.SerializeToString(), PROTOBUF
