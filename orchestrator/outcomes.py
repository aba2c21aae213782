"""How one step or one execution of a run can end, and how checkpoints are encoded.

The bottom of the engine: it imports nothing else of ``orchestrator``, so the engine, the
execution and the state stores can all use it without importing each other.

    BaseException
    ├── Reschedule        the run goes back to the queue after ``delay`` seconds (a retry)
    └── Suspend           the run parks until ``until`` (an approval it waits for)
    OrchestratorError
    └── StepFailedError   a step failed for good (not retryable, or out of attempts)

``Reschedule`` and ``Suspend`` are control flow, not errors: they unwind a workflow
function from the step that decided to stop back to the execution that records why. They
derive from ``BaseException`` (like ``KeyboardInterrupt`` and ``GeneratorExit``) on
purpose: a workflow author's ``try: charge(order) except Exception: ...`` around a step
must not swallow a retry or an approval wait, or the run would carry on as if the step had
returned ``None`` and its checkpoint would be missing. ``finally`` blocks and context
managers in the workflow still run, as they should.
"""

from __future__ import annotations

import json
from typing import Any

from models.errors import (
    ApprovalTimeoutError,
    OrchestratorError,
    PoisonMessageError,
    StepTimeoutError,
)

__all__ = ["Reschedule", "StepFailedError", "Suspend", "decode", "dumps", "restore_error"]

_KNOWN_ERRORS: dict[str, type[Exception]] = {
    cls.__name__: cls for cls in (ApprovalTimeoutError, PoisonMessageError, StepTimeoutError)
}


class StepFailedError(OrchestratorError):
    """A step failed for good (not retryable, or out of attempts)."""

    def __init__(self, message: str, reason: str, attempts: int, step_key: str) -> None:
        super().__init__(message)
        self.reason, self.attempts, self.step_key = reason, attempts, step_key


class Reschedule(BaseException):
    """Stop this execution; the run is ready again ``delay`` seconds from now."""

    def __init__(self, delay: float) -> None:
        super().__init__(delay)
        self.delay = delay


class Suspend(BaseException):
    """Stop this execution; the run waits (for an approval) until ``until`` at the latest."""

    def __init__(self, until: float) -> None:
        super().__init__(until)
        self.until = until


def dumps(value: Any) -> str:
    """JSON text of a checkpointed value."""
    return json.dumps(value, default=str, separators=(",", ":"))


def decode(text: str | None) -> Any:
    """A checkpointed JSON value."""
    return json.loads(text) if text else None


def restore_error(row: dict[str, Any]) -> Exception:
    """The exception a finally failed step raised, for a deterministic replay."""
    cls = _KNOWN_ERRORS.get(row.get("error_type") or "")
    message = row.get("error") or "step failed"
    if cls is not None:
        return cls(message)
    return StepFailedError(message, "failed", int(row["attempts"]), str(row["step_key"]))
