"""Values against their columns, before the ack: what would not fit is refused, named.

A record whose value cannot be stored (a timestamp past what its ClickHouse column holds, a
string over ``FLOWMETER_MAX_VALUE_BYTES``, text that is not UTF-8) is removed from the
request and counted in ``partial_success`` with the field path and the limit; the rest of
the request is kept. Protobuf strings are UTF-8 by construction (upb refuses anything else
when parsing), and the Float64 columns take NaN and +-Inf as they are, so the checks that
remain are timestamps and sizes. The loops read two integers per record; the size walk runs
only when the request is bigger than the limit (no string can be longer than its request).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from models.kpi import KpiEvent, KpiRejection

__all__ = [
    "MAX_DATETIME64_NS",
    "MAX_DATETIME_NS",
    "Refusals",
    "kpi_event_problem",
    "screen",
    "screen_kpi_batch",
]

# DateTime64(9) is an Int64 of nanoseconds: its last instant is 2262-04-11T23:47:16.854775807Z.
MAX_DATETIME64_NS: Final = 2**63 - 1
DATETIME64_LIMIT: Final = "2262-04-11T23:47:16.854775807Z, the last instant of DateTime64(9)"
# DateTime (the metrics tables) is a UInt32 of seconds: its last second starts 2106-02-07T06:28:15Z.
MAX_DATETIME_NS: Final = 2**32 * 10**9 - 1
DATETIME_LIMIT: Final = "2106-02-07T06:28:15Z, the last second of DateTime"
KEPT_REASONS: Final = 10  # refusals described in one answer; the rest are counted

TIMESTAMP = "timestamp_out_of_range"
VALUE_SIZE = "value_too_large"
NOT_UTF8 = "not_utf8"
_METRIC_KINDS: Final = ("gauge", "sum", "histogram", "exponential_histogram", "summary")


@dataclass
class Refusals:
    """Records refused from one request: how many, why (described and by reason)."""

    count: int = 0
    described: list[str] = field(default_factory=list)
    by_reason: Counter[str] = field(default_factory=Counter)

    def add(self, reason: str, description: str, records: int = 1) -> None:
        """Count ``records`` refused for ``reason``."""
        self.count += records
        self.by_reason[reason] += records
        if len(self.described) < KEPT_REASONS:
            self.described.append(description)

    def extend(self, other: Refusals) -> None:
        """Add another request part's refusals."""
        self.count += other.count
        self.by_reason.update(other.by_reason)
        self.described.extend(other.described[: KEPT_REASONS - len(self.described)])

    def message(self) -> str:
        """The ``partial_success.error_message``."""
        text = "; ".join(self.described)
        hidden = self.count - len(self.described)
        return f"{text}; and {hidden} more" if hidden > 0 and text else text


def _late(path: str, value: int, limit: str) -> str:
    return f"{path}: {value} is after {limit}"


def _too_long(message: Any, limit: int) -> Iterator[tuple[str, int]]:
    """(field path, size) of every string or bytes field longer than ``limit`` bytes."""
    for descriptor, value in message.ListFields():
        name = descriptor.json_name
        items = value if descriptor.is_repeated else [value]
        for index, item in enumerate(items):
            here = f"{name}[{index}]" if descriptor.is_repeated else name
            if isinstance(item, str):
                size = len(item.encode("utf-8", "surrogatepass"))
                if size > limit:
                    yield here, size
            elif isinstance(item, bytes):
                if len(item) > limit:
                    yield here, len(item)
            elif hasattr(item, "ListFields") and item.ByteSize() > limit:
                for inner, size in _too_long(item, limit):
                    yield f"{here}.{inner}", size


def _oversize(path: str, message: Any, limit: int) -> str | None:
    if message.ByteSize() <= limit:
        return None
    for inner, size in _too_long(message, limit):
        return f"{path}.{inner}: {size} bytes; FLOWMETER_MAX_VALUE_BYTES is {limit}"
    return None


def _keep(container: Any, keep: list[Any]) -> None:
    del container[:]
    container.extend(keep)


def screen(signal: str, message: Any, *, size: int, max_value_bytes: int) -> Refusals:
    """Remove from ``message`` every record with a value its column cannot hold.

    ``size``: the request's size in bytes (bounds every string in it: no size walk below
    ``max_value_bytes``).
    """
    sizes = size > max_value_bytes
    if signal == "traces":
        return _traces(message, max_value_bytes if sizes else 0)
    if signal == "logs":
        return _logs(message, max_value_bytes if sizes else 0)
    return _metrics(message, max_value_bytes if sizes else 0)


def _blocks(
    refusals: Refusals, blocks: Any, kind: str, inner: str, limit: int
) -> Iterator[tuple[int, Any]]:
    """Resource blocks (and their scopes) small enough; refuse the records of the others."""
    for i, block in enumerate(blocks):
        problem = _oversize(f"{kind}[{i}].resource", block.resource, limit) if limit else None
        if problem is None:
            yield i, block
            continue
        for scoped in getattr(block, inner):
            refusals.add(VALUE_SIZE, problem, _count(scoped))
        del getattr(block, inner)[:]


def _count(scoped: Any) -> int:
    for name in ("spans", "log_records"):
        if hasattr(scoped, name):
            return len(getattr(scoped, name))
    return sum(len(_points(m)) for m in scoped.metrics)


def _points(metric: Any) -> Any:
    kind = metric.WhichOneof("data")
    return getattr(metric, kind).data_points if kind in _METRIC_KINDS else ()


def _traces(message: Any, limit: int) -> Refusals:
    refusals = Refusals()
    for i, rs in _blocks(refusals, message.resource_spans, "resourceSpans", "scope_spans", limit):
        for j, ss in enumerate(rs.scope_spans):
            bad = False
            for k, span in enumerate(ss.spans):
                if (
                    span.start_time_unix_nano > MAX_DATETIME64_NS
                    or span.end_time_unix_nano > MAX_DATETIME64_NS
                    or span.events
                    or limit
                ):
                    problem = _span_problem(
                        f"resourceSpans[{i}].scopeSpans[{j}].spans[{k}]", span, limit
                    )
                    if problem is not None:
                        refusals.add(*problem)
                        bad = True
            if bad:
                _keep(ss.spans, [s for s in ss.spans if _span_problem("", s, limit) is None])
    return refusals


def _span_problem(path: str, span: Any, limit: int) -> tuple[str, str] | None:
    for name, value in (
        ("startTimeUnixNano", span.start_time_unix_nano),
        ("endTimeUnixNano", span.end_time_unix_nano),
    ):
        if value > MAX_DATETIME64_NS:
            return TIMESTAMP, _late(f"{path}.{name}", value, DATETIME64_LIMIT)
    for n, event in enumerate(span.events):
        if event.time_unix_nano > MAX_DATETIME64_NS:
            where = f"{path}.events[{n}].timeUnixNano"
            return TIMESTAMP, _late(where, event.time_unix_nano, DATETIME64_LIMIT)
    if limit:
        problem = _oversize(path, span, limit)
        if problem is not None:
            return VALUE_SIZE, problem
    return None


def _logs(message: Any, limit: int) -> Refusals:
    refusals = Refusals()
    for i, rl in _blocks(refusals, message.resource_logs, "resourceLogs", "scope_logs", limit):
        for j, sl in enumerate(rl.scope_logs):
            keep = []
            for k, record in enumerate(sl.log_records):
                problem = _log_problem(
                    f"resourceLogs[{i}].scopeLogs[{j}].logRecords[{k}]", record, limit
                )
                if problem is None:
                    keep.append(record)
                else:
                    refusals.add(*problem)
            if len(keep) != len(sl.log_records):
                _keep(sl.log_records, keep)
    return refusals


def _log_problem(path: str, record: Any, limit: int) -> tuple[str, str] | None:
    for name, value in (
        ("timeUnixNano", record.time_unix_nano),
        ("observedTimeUnixNano", record.observed_time_unix_nano),
    ):
        if value > MAX_DATETIME64_NS:
            return TIMESTAMP, _late(f"{path}.{name}", value, DATETIME64_LIMIT)
    if limit:
        problem = _oversize(path, record, limit)
        if problem is not None:
            return VALUE_SIZE, problem
    return None


def _metrics(message: Any, limit: int) -> Refusals:
    refusals = Refusals()
    blocks = _blocks(refusals, message.resource_metrics, "resourceMetrics", "scope_metrics", limit)
    for i, rm in blocks:
        for j, sm in enumerate(rm.scope_metrics):
            for k, metric in enumerate(sm.metrics):
                points = _points(metric)
                if not points:
                    continue
                path = f"resourceMetrics[{i}].scopeMetrics[{j}].metrics[{k}]"
                keep = []
                for n, point in enumerate(points):
                    where = f"{path}.{metric.WhichOneof('data')}.dataPoints[{n}]"
                    problem = _point_problem(where, point, limit)
                    if problem is None:
                        keep.append(point)
                    else:
                        refusals.add(*problem)
                if len(keep) != len(points):
                    _keep(points, keep)
    return refusals


def _point_problem(path: str, point: Any, limit: int) -> tuple[str, str] | None:
    for name, value in (
        ("startTimeUnixNano", point.start_time_unix_nano),
        ("timeUnixNano", point.time_unix_nano),
    ):
        if value > MAX_DATETIME_NS:
            return TIMESTAMP, _late(f"{path}.{name}", value, DATETIME_LIMIT)
    for n, exemplar in enumerate(getattr(point, "exemplars", ())):  # summaries have none
        if exemplar.time_unix_nano > MAX_DATETIME_NS:
            where = f"{path}.exemplars[{n}].timeUnixNano"
            return TIMESTAMP, _late(where, exemplar.time_unix_nano, DATETIME_LIMIT)
    if limit:
        problem = _oversize(path, point, limit)
        if problem is not None:
            return VALUE_SIZE, problem
    return None


def _not_utf8(value: object) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
    return False


def kpi_event_problem(event: KpiEvent) -> str | None:
    """Why a contract-valid KPI event still cannot be stored, or None.

    The contract bounds lengths, numbers and the timestamp; what is left is text a JSON body
    can carry but UTF-8 cannot (a lone surrogate such as ``"\\ud800"``).
    """
    for name, value in event:
        if _not_utf8(value):
            return f"{name}: not valid UTF-8 text (a lone surrogate)"
        if isinstance(value, dict):
            for key, item in value.items():
                if _not_utf8(key) or _not_utf8(item):
                    return f"{name}.{key!r}: not valid UTF-8 text (a lone surrogate)"
    return None


def _printable(text: str) -> str:
    """``text`` with anything UTF-8 cannot carry (lone surrogates) replaced by U+FFFD."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def screen_kpi_batch(
    events: list[KpiEvent], rejections: list[KpiRejection]
) -> tuple[list[KpiEvent], list[KpiRejection]]:
    """``parse_kpi_batch``'s result with the events that cannot be stored moved to the
    rejections (at their position in the batch: every item is an event or a rejection), and
    every echoed id and reason made printable as UTF-8."""
    refused = {r.index for r in rejections}
    positions = [i for i in range(len(events) + len(rejections)) if i not in refused]
    kept: list[KpiEvent] = []
    more = list(rejections)
    for position, event in zip(positions, events, strict=True):
        problem = kpi_event_problem(event)
        if problem is None:
            kept.append(event)
        else:
            more.append(KpiRejection(position, event.event_id, problem))
    shown = [
        KpiRejection(
            r.index, None if r.event_id is None else _printable(r.event_id), _printable(r.reason)
        )
        for r in sorted(more, key=lambda r: r.index)
    ]
    return kept, shown
