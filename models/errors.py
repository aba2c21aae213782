"""Flowmeter's exception tree.

FlowmeterError
├── SettingsError      a FLOWMETER_* variable is missing or malformed
├── StoreError         the ClickHouse store failed or refused a statement
│   ├── StoreLockedError   another process holds the embedded store's data dir
│   └── ReadOnlyError      a write was sent through the read-only path
├── QueryError         a named query is missing, malformed, or called with wrong params
├── MigrationError     a schema migration failed or was edited after it was applied
├── CostImportError    a FOCUS cost file or usage price list is malformed (names column/line)
├── AccessError        a dashboard user or action was refused
│   ├── AuthenticationError   unknown user, wrong password, or a malformed users file
│   └── PermissionDeniedError a role may not do this, or a tenant is not the user's
├── KpiContractError   a KPI event (or a batch or file of them) breaks the KPI contract
├── IngestError        a telemetry request was refused (status = the HTTP status to answer)
│   ├── BackpressureError  the ingest buffer is full; retry after ``retry_after`` seconds
│   └── ReceiverBusyError  too many requests in flight at a receiver; retry after a second
└── OrchestratorError  the workflow engine refused or lost something
    ├── NotFoundError          no run / dead letter / approval with that id
    ├── ReplayRefusedError     a dead letter was already replayed
    ├── LeaseLostError         this worker's claim on a run expired or was taken over
    ├── PoisonMessageError     a payload fails validation: quarantine it, never retry
    ├── StepTimeoutError       a step ran past its timeout
    ├── CircuitOpenError       a dependency's circuit breaker is open
    └── ApprovalTimeoutError   nobody approved or rejected in time
"""

from __future__ import annotations

__all__ = [
    "AccessError",
    "ApprovalTimeoutError",
    "AuthenticationError",
    "BackpressureError",
    "CircuitOpenError",
    "CostImportError",
    "FlowmeterError",
    "IngestError",
    "KpiContractError",
    "LeaseLostError",
    "MigrationError",
    "NotFoundError",
    "OrchestratorError",
    "PermissionDeniedError",
    "PoisonMessageError",
    "QueryError",
    "ReadOnlyError",
    "ReceiverBusyError",
    "ReplayRefusedError",
    "SettingsError",
    "StepTimeoutError",
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


class CostImportError(FlowmeterError):
    """A FOCUS cost file or price list is malformed; the message names the column or line."""


class AccessError(FlowmeterError):
    """A dashboard user or action was refused."""


class AuthenticationError(AccessError):
    """Unknown user, wrong password, or a users file that cannot be read."""


class PermissionDeniedError(AccessError):
    """The user's role may not perform this action, or the tenant is not theirs."""


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


class ReceiverBusyError(IngestError):
    """A receiver has its maximum of requests in flight: answer 503 and retry soon."""

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message, status=503)
        self.retry_after = retry_after


class OrchestratorError(FlowmeterError):
    """The workflow engine refused an operation or lost its hold on a run."""


class NotFoundError(OrchestratorError):
    """No run, dead letter or approval has that id."""


class ReplayRefusedError(OrchestratorError):
    """This dead letter was replayed already; a second replay is refused."""


class LeaseLostError(OrchestratorError):
    """This worker's lease on a run expired or another worker holds it now."""


class PoisonMessageError(OrchestratorError):
    """The payload can never succeed (fails validation): quarantine, do not retry."""


class StepTimeoutError(OrchestratorError):
    """A step ran longer than its timeout."""


class CircuitOpenError(OrchestratorError):
    """The dependency's circuit breaker is open; the call was not attempted."""

    def __init__(self, message: str, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ApprovalTimeoutError(OrchestratorError):
    """An approval was neither granted nor rejected before its deadline."""
