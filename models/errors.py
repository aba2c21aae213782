"""Flowmeter's exception tree.

FlowmeterError
├── SettingsError      a FLOWMETER_* variable is missing or malformed
├── StoreError         the ClickHouse store failed or refused a statement
│   ├── StoreLockedError   another process holds the embedded store's data dir
│   └── ReadOnlyError      a write was sent through the read-only path
├── QueryError         a named query is missing, malformed, or called with wrong params
├── MigrationError     a schema migration failed or was edited after it was applied
├── KpiContractError   a KPI event (or a batch or file of them) breaks the KPI contract
└── IngestError        a telemetry request was refused (status = the HTTP status to answer)
    └── BackpressureError  the ingest buffer is full; retry after ``retry_after`` seconds
"""

from __future__ import annotations

__all__ = [
    "BackpressureError",
    "FlowmeterError",
    "IngestError",
    "KpiContractError",
    "MigrationError",
    "QueryError",
    "ReadOnlyError",
    "SettingsError",
    "StoreError",
    "StoreLockedError",
]


class FlowmeterError(Exception):
    """Base of every error Flowmeter raises on purpose."""


class SettingsError(FlowmeterError):
    """A setting is invalid; the message starts with the variable's name."""


class StoreError(FlowmeterError):
    """The ClickHouse store failed or refused a statement."""


class StoreLockedError(StoreError):
    """Another process already holds the embedded store's data directory."""


class ReadOnlyError(StoreError):
    """A statement that writes was sent through the read-only path."""


class QueryError(FlowmeterError):
    """A named query is missing, malformed, or called with the wrong parameters."""


class MigrationError(FlowmeterError):
    """A schema migration failed, or an applied one was changed afterwards."""


class KpiContractError(FlowmeterError):
    """A KPI event breaks the contract; the message names the field and the problem."""


class IngestError(FlowmeterError):
    """A telemetry request was refused; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class BackpressureError(IngestError):
    """The ingest buffer is full: answer 429 / RESOURCE_EXHAUSTED and retry later."""

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message, status=429)
        self.retry_after = retry_after
