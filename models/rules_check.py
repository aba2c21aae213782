"""Dry run of a rules file on stored spans: what it would recognize, before it goes live."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from models.db import Store
from models.rules import RuleSet, SpanView
from models.tenancy import utc

__all__ = ["DryRun", "dry_run"]

NATIVE_PREFIXES = ("run ", "step ")
# What recognition adds at ingest (collectors/recognition.py): only when the span lacked them,
# so the flowmeter.* keys say it was recognized and the rest may be the sender's own.
ADDED = frozenset(
    {"flowmeter.kind", "flowmeter.source", "flowmeter.retries", "flowmeter.attempt_key"}
)


@dataclass(frozen=True)
class DryRun:
    """What a rule set makes of a sample of spans."""

    spans_read: int
    spans: int  # recognized
    traces: int
    workflows: Counter[tuple[str, str]] = field(
        default_factory=Counter
    )  # (workflow, source) -> spans

    def summary(self) -> str:
        """One line, e.g. 'matches 1,204 of 5,000 spans in 212 traces as 3 workflows'."""
        return (f"matches {self.spans:,} of {self.spans_read:,} spans in {self.traces:,} traces "
                f"as {len({w for w, _ in self.workflows}):,} workflows")  # fmt: skip


def dry_run(store: Store, rules: RuleSet, since: datetime, *, max_spans: int = 100_000) -> DryRun:
    """Apply ``rules`` to the newest ``max_spans`` spans since ``since``; nothing is written."""
    values = store.query("recognition/recent_spans", since=utc(since), max_spans=max_spans)
    traces: set[str] = set()
    workflows: Counter[tuple[str, str]] = Counter()
    recognized = 0
    for span in values:
        if str(span["name"]).startswith(NATIVE_PREFIXES):
            continue
        # Spans recognized at ingest are judged again on what their sender wrote.
        attributes = {k: v for k, v in span["attributes"].items() if k not in ADDED}
        native = rules.recognize(
            SpanView(
                service=str(span["service"]), name=str(span["name"]), error=bool(span["error"]),
                attributes=attributes, resource=dict(span["resource"]),
                events=tuple(span["events"]),
            )
        )  # fmt: skip
        if native is None:
            continue
        recognized += 1
        traces.add(str(span["trace_id"]))
        workflows[(native.get("workflow.name", ""), native["flowmeter.source"])] += 1
    return DryRun(len(values), recognized, len(traces), workflows)
