"""The ingest pipeline's figures, as frozen snapshots (for /metrics and health checks)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["PipelineStats", "SignalStats", "WriterStats"]


@dataclass(frozen=True)
class WriterStats:
    """One signal writer's figures (cheap: counters only)."""

    wal_bytes: int
    wal_segments: int
    pending_rows: int
    lag_seconds: float
    last_insert_seconds: float
    inserts: int
    insert_seconds_total: float
    failed_inserts: int
    inserted_rows: int
    quarantined_rows: int
    quarantined_segments: int
    io_errors: int
    alive: bool


@dataclass(frozen=True)
class SignalStats:
    """One signal: what the receivers accepted and refused, and its writer's figures."""

    accepted_records: int
    """Records acknowledged (durable in the WAL)."""
    refused_records: Mapping[str, int]
    """Records refused, by reason (timestamp_out_of_range, value_too_large, kpi_contract,
    buffer_rows, wal_bytes, disk_free, disk_full, wal_io)."""
    writer: WriterStats
    buffer_fill: float
    """Waiting rows or bytes over their caps, whichever is fuller (0..1, above 1 briefly)."""


@dataclass(frozen=True)
class PipelineStats:
    """Every signal's figures, plus the totals a health check reads."""

    signals: Mapping[str, SignalStats]

    @property
    def wal_bytes(self) -> int:
        """WAL bytes waiting for the store, all signals."""
        return sum(s.writer.wal_bytes for s in self.signals.values())

    @property
    def writer_lag_seconds(self) -> float:
        """Age of the oldest record not in the store yet, all signals."""
        return max((s.writer.lag_seconds for s in self.signals.values()), default=0.0)

    @property
    def buffer_fill(self) -> float:
        """The fullest signal's buffer fill."""
        return max((s.buffer_fill for s in self.signals.values()), default=0.0)

    @property
    def quarantined_segments(self) -> int:
        """Segments (or their refused records) quarantined since start."""
        return sum(s.writer.quarantined_segments for s in self.signals.values())

    @property
    def io_errors(self) -> int:
        """Writer I/O errors (and other writer errors) since start."""
        return sum(s.writer.io_errors for s in self.signals.values())

    @property
    def writers_alive(self) -> bool:
        """Every signal's writer thread runs."""
        return all(s.writer.alive for s in self.signals.values())
