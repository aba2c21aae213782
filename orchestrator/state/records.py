"""What the stores hand back: a run's row, a worker's lease on it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from models.errors import LeaseLostError

__all__ = ["Lease", "RunRecord", "lease_lost"]


@dataclass(frozen=True)
class RunRecord:
    """One row of fm_runs."""

    id: str
    workflow: str
    status: str
    phase: str
    payload: Any
    correlation_id: str
    tenant_id: str
    product_line: str
    entity_type: str
    entity_id: str
    mode: str
    traceparent: str
    created_at: float
    ready_at: float
    lease_token: int
    executions: int
    replays: int
    result: Any = None
    error: str | None = None
    finished_at: float | None = None

    @classmethod
    def from_row(cls, row: Any) -> RunRecord:
        """Build from a fm_runs row."""
        return cls.from_mapping(dict(row._mapping))

    @classmethod
    def from_mapping(cls, m: dict[str, Any]) -> RunRecord:
        """Build from a fm_runs row as a dict."""
        return cls(
            id=m["id"], workflow=m["workflow"], status=m["status"], phase=m["phase"],
            payload=json.loads(m["payload"]), correlation_id=m["correlation_id"],
            tenant_id=m["tenant_id"], product_line=m["product_line"],
            entity_type=m["entity_type"], entity_id=m["entity_id"], mode=m["mode"],
            traceparent=m["traceparent"], created_at=m["created_at"], ready_at=m["ready_at"],
            lease_token=m["lease_token"], executions=m["executions"], replays=m["replays"],
            result=json.loads(m["result"]) if m["result"] else None, error=m["error"],
            finished_at=m["finished_at"],
        )  # fmt: skip


@dataclass(frozen=True)
class Lease:
    """A worker's fenced hold on one run."""

    run_id: str
    owner: str
    token: int


def lease_lost(lease: Lease) -> LeaseLostError:
    """The error for a fenced write that found the lease gone."""
    return LeaseLostError(f"run {lease.run_id}: lease {lease.token} lost by {lease.owner}")
