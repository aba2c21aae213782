"""Recognition at ingest: spans of Celery, Prefect, Temporal, Airflow... get the native dialect.

``Recognizer.enrich`` runs on each parsed OTLP trace request before it is logged to the WAL,
so what the store holds (and every rollup, lookup and drill-down) already carries
``workflow.name``, ``step.name``, ``run.outcome`` / ``step.outcome`` and the rest, exactly
as Flowmeter's own engine writes them (docs/telemetry.md), plus ``flowmeter.kind`` (run |
step), ``flowmeter.source`` (the profile or "rules") and ``flowmeter.retries``.

Attributes a span already has win: a recognized value never overwrites the sender's own.
Spans already in the native dialect (``run <workflow>`` / ``step <step>``) are left alone.

A step's workflow is the trace's: a run span's in the trace (Prefect's flow run, Temporal's
RunWorkflow) or else its earliest step's (a Celery chain is named after its first task).
Spans of one trace often arrive in different requests, so the names seen are remembered
per trace (a bounded LRU); the trace-level run facts themselves are computed in the store
(``recognized_runs``, sql/schema/340), which needs no memory here. See docs/adr/0009.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from models.rules import RuleSet, SpanView

__all__ = ["Recognizer"]

logger = logging.getLogger(__name__)

NATIVE_PREFIXES = ("run ", "step ")
TRACE_MEMORY = 100_000  # traces whose workflow name is remembered
STATUS_ERROR = 2


def _text(value: AnyValue) -> str | None:
    """An attribute value as the store writes it (scalars only; others are not matched)."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "int_value":
        return str(value.int_value)
    if which == "bool_value":
        return "true" if value.bool_value else "false"
    if which == "double_value":
        return str(value.double_value)
    return None


def _attributes(pairs: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for kv in pairs:
        text = _text(kv.value)
        if text is not None:
            found[kv.key] = text
    return found


class Recognizer:
    """Applies a RuleSet to OTLP trace requests in place."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self._markers = rules.markers
        # trace id -> (rank, start ns, workflow); rank 0 = a run span named it, 1 = a step
        self._traces: OrderedDict[bytes, tuple[int, int, str]] = OrderedDict()
        self._lock = threading.Lock()  # receivers call enrich from several threads
        self.recognized_spans = 0

    def enrich(self, request: Any, raw: bytes | None = None) -> int:
        """Add the native attributes to every span a rule recognizes; the number of spans changed.

        ``raw``: the request's protobuf bytes, when at hand. A request that holds none of the
        rules' marker strings (native or unrelated telemetry) is skipped without decoding a
        span, so it keeps the pipeline's unchanged-bytes fast path.
        """
        if not self.rules.rules:
            return 0
        markers = self._markers
        if raw is not None and markers is not None and not any(m in raw for m in markers):
            return 0
        found: list[tuple[Any, dict[str, str], set[str]]] = []
        for resource_spans in request.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            service = resource.get("service.name", "")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    if span.name.startswith(NATIVE_PREFIXES):
                        continue
                    attributes = _attributes(span.attributes)
                    if "flowmeter.kind" in attributes:
                        continue
                    view = SpanView(
                        service=service,
                        name=span.name,
                        error=span.status.code == STATUS_ERROR,
                        attributes=attributes,
                        resource=resource,
                        events=tuple(event.name for event in span.events),
                    )
                    native = self.rules.recognize(view)
                    if native is None:
                        continue
                    self._remember(span, native)
                    found.append((span, native, set(attributes)))
        for span, native, present in found:
            if native["flowmeter.kind"] == "step":
                with self._lock:
                    known = self._traces.get(bytes(span.trace_id))
                if known is not None:
                    native["workflow.name"] = known[2]
            attributes = span.attributes
            for key, value in native.items():
                if key not in present:
                    attributes.add(key=key).value.string_value = value
        self.recognized_spans += len(found)
        return len(found)

    def _remember(self, span: Any, native: dict[str, str]) -> None:
        workflow = native.get("workflow.name", "")
        if not workflow or not span.trace_id:
            return
        trace_id = bytes(span.trace_id)
        rank = 1 if native["flowmeter.kind"] == "step" else 0  # a run or marker names it
        candidate = (rank, span.start_time_unix_nano, workflow)
        with self._lock:
            known = self._traces.get(trace_id)
            if known is None or candidate[:2] < known[:2]:
                self._traces[trace_id] = candidate
            self._traces.move_to_end(trace_id)
            while len(self._traces) > TRACE_MEMORY:
                self._traces.popitem(last=False)
