"""A metric reader that exports at the engine clock's time, for virtual-time backfills.

The SDK stamps data points with the wall clock at collection. During the demo backfill the
engine's clock is simulated, so this reader is collected explicitly at each simulated tick
and rewrites every point's timestamps to that tick before handing it to the exporter: DLQ
depth, queue lag and breaker state then have history over the backfilled days.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricReader,
    MetricsData,
)

__all__ = ["VirtualTimeMetricReader"]

logger = logging.getLogger(__name__)

NS = 1_000_000_000


class VirtualTimeMetricReader(MetricReader):
    """Collects only when ``export_at`` is called; points carry that (simulated) time, and
    cumulative points start at the first simulated collection."""

    def __init__(self, exporter: MetricExporter) -> None:
        super().__init__(
            preferred_temporality=exporter._preferred_temporality,
            preferred_aggregation=exporter._preferred_aggregation,
        )
        self._exporter = exporter
        self._at: int | None = None
        self._start: int | None = None

    def export_at(self, at: float) -> None:
        """Collect every instrument now and export the points stamped at ``at`` (seconds)."""
        self._at = int(at * NS)
        if self._start is None:
            self._start = self._at
        try:
            self.collect()
        finally:
            self._at = None

    def _receive_metrics(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> None:
        if self._at is None or self._start is None:
            return  # a flush or shutdown collection: wall-clock points are not ours to send
        result = self._exporter.export(_stamped(metrics_data, self._start, self._at),
                                       timeout_millis=timeout_millis)  # fmt: skip
        if result.name != "SUCCESS":
            logger.warning("virtual-time metric export failed: %s", result)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Nothing to release: the exporter belongs to the periodic reader."""


def _stamped(data: MetricsData, start: int, at: int) -> MetricsData:
    """``data`` with every point's time set to ``at`` (and a start time, if it has one)."""

    def point(p: Any) -> Any:
        first = min(start, at) if getattr(p, "start_time_unix_nano", 0) else 0
        return replace(p, time_unix_nano=at, start_time_unix_nano=first)

    def points(d: Any) -> Any:
        return replace(d, data_points=[point(p) for p in d.data_points])

    return replace(data, resource_metrics=[
        replace(rm, scope_metrics=[
            replace(sm, metrics=[
                replace(m, data=points(m.data))
                for m in sm.metrics
            ])
            for sm in rm.scope_metrics
        ])
        for rm in data.resource_metrics
    ])  # fmt: skip
