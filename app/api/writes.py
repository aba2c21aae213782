"""Write endpoints: what the CLI does (cost and KPI import, usage pricing, baselines, replays,
approvals, read-only SQL, migrations), each behind the dashboard's role and tenant checks
(``app.access.require`` / ``app.actions``) before anything is touched."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app import actions
from app.access import require, require_tenant
from app.api.app import BadInputError, UploadTooLargeError, caller, state_of
from app.api.auth import Principal
from app.api.encoding import plain, records
from collectors.kpi_import import KpiFile, import_kpi_file, validate_kpi_file
from collectors.redaction import redactor_for
from models.costs import ImportResult, import_cost_file
from models.errors import KpiContractError, PermissionDeniedError
from models.migrations import migrate
from models.pricing import load_price_list
from models.retention import apply_retention
from models.usage_costs import record_usage_costs

__all__ = ["SHOWN_BAD_ROWS", "router"]

router = APIRouter(tags=["write"])

SHOWN_BAD_ROWS = 50
Caller = Annotated[Principal, Depends(caller)]
FileName = Annotated[str, Query(description="The file's name; its suffix says the format.")]


def _unrestricted(principal: Principal, what: str) -> None:
    if principal.user.restricted:
        raise PermissionDeniedError(
            f"{principal.user.name} sees only some tenants; {what} reaches every tenant, so "
            "only a token for every tenant (=*) may do it"
        )


@contextmanager
def _received(file_name: str) -> Iterator[Path]:
    """A temporary path named like the uploaded file (importers read the suffix)."""
    name = Path(file_name).name
    if name in ("", ".", "..") or "/" in file_name or "\\" in file_name:
        raise BadInputError("filename", f"{file_name!r} is not a plain file name")
    with tempfile.TemporaryDirectory(prefix="flowmeter-upload-") as folder:
        yield Path(folder) / name


async def _save_body(request: Request, path: Path) -> int:
    """Stream the request body into ``path``; 413 (BadInputError) above the upload limit."""
    limit = state_of(request).settings.api_max_upload_bytes
    size = 0
    with path.open("wb") as handle:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise UploadTooLargeError(limit)
            handle.write(chunk)
    if size == 0:
        raise BadInputError("body", "the request body is empty: send the file's bytes")
    return size


def import_result(result: ImportResult) -> dict[str, Any]:
    """An ImportResult as JSON."""
    return {
        "rows": result.rows,
        "slices_written": [[a, plain(p)] for a, p in result.slices_written],
        "slices_unchanged": [[a, plain(p)] for a, p in result.slices_unchanged],
        "unallocated_rows": result.unallocated_rows,
        "billed_total": {cur: str(total) for cur, total in result.billed_total.items()},
        "report": result.report.lines() if result.report is not None else [],
        "problems": list(result.report.problems)
        if result.report is not None and result.report.bad_count
        else [],
    }


@router.post("/costs/import", summary="Import a FOCUS cost file (the body is the file)")
async def import_costs(
    request: Request, principal: Caller, filename: FileName, skip_bad: bool = False
) -> JSONResponse:
    require(principal.user, "costs.import")
    _unrestricted(principal, "a cost file")
    settings = state_of(request).settings
    with _received(filename) as path:
        await _save_body(request, path)
        result = await run_in_threadpool(
            import_cost_file,
            state_of(request).store,
            path,
            tag_keys=settings.cost_tag_keys,
            skip_bad=skip_bad,
        )
    return JSONResponse(import_result(result))


class UsageDays(BaseModel):
    """Days to price usage for."""

    days: list[date] = Field(min_length=1, max_length=366)


@router.post("/costs/usage", summary="Price span usage into cost records (idempotent per day)")
async def usage_costs(request: Request, principal: Caller, body: UsageDays) -> JSONResponse:
    require(principal.user, "costs.import")
    _unrestricted(principal, "usage pricing")
    state = state_of(request)
    if state.settings.pricing_file is None:
        raise BadInputError("days", "set FLOWMETER_PRICING_FILE to a TOML price list first")
    prices = load_price_list(state.settings.pricing_file)
    for day in body.days:
        await run_in_threadpool(record_usage_costs, state.store, day, prices)
    return JSONResponse({"days": [d.isoformat() for d in body.days]})


def _kpi_tenant(principal: Principal, tenant: str) -> str | None:
    user = principal.user
    if tenant:
        require_tenant(user, tenant)
        return tenant
    if not user.restricted:
        return None
    if len(user.tenants) == 1:
        return user.tenants[0]  # a one-tenant token stamps its tenant, as ingest tokens do
    raise BadInputError("tenant", "this token covers several tenants: say which one (?tenant=)")


def _kpi_report(report: Any) -> dict[str, Any]:
    return {
        "rows": report.rows, "valid": report.valid, "written": report.written,
        "bad_count": report.bad_count,
        "bad": [{"line": b.line, "reason": b.reason} for b in report.bad[:SHOWN_BAD_ROWS]],
    }  # fmt: skip


@router.post("/kpis/import", summary="Import KPI events from a .csv or .jsonl file (the body)")
async def import_kpis(
    request: Request, principal: Caller, filename: FileName,
    skip_bad: Annotated[bool, Query(description="Import the valid rows, list the bad.")] = False,
    tenant: Annotated[str, Query(description="Stamp this tenant on every event.")] = "",
) -> JSONResponse:  # fmt: skip
    require(principal.user, "kpi.import")
    stamp = _kpi_tenant(principal, tenant)
    with _received(filename) as path:
        await _save_body(request, path)
        kpi_file = KpiFile(path, tenant=stamp)
        checked = await run_in_threadpool(validate_kpi_file, kpi_file)
        if checked.bad_count and not skip_bad:
            return JSONResponse(
                {"error": f"{path.name}: {checked.bad_count} row(s) break the KPI contract; "
                          "nothing was imported (fix them, or pass skip_bad=true)",
                 "type": KpiContractError.__name__, "field": "body",
                 **_kpi_report(checked)},
                status_code=400,
            )  # fmt: skip
        state = state_of(request)
        redactor = redactor_for(state.settings)  # attributes are hashed as at ingest
        report = await run_in_threadpool(import_kpi_file, state.store, kpi_file, redactor=redactor)
    return JSONResponse(_kpi_report(report))


class BaselineChange(BaseModel):
    """A new baseline version (the reason is kept in history)."""

    manual_minutes: Decimal
    hourly_rate: Decimal
    manual_error_rate: Decimal = Decimal(0)
    cost_per_error: Decimal = Decimal(0)
    currency: str
    reason: str
    effective_from: datetime | None = None
    go_live_at: datetime | None = None


@router.post("/baselines/{workflow}", summary="Record a new baseline version of a workflow")
async def change_baseline(
    request: Request, principal: Caller, workflow: str, body: BaselineChange
) -> JSONResponse:
    baseline = await run_in_threadpool(
        lambda: actions.change_baseline(
            state_of(request).store, principal.user, workflow, **body.model_dump()
        )
    )
    return JSONResponse({"workflow": baseline.workflow, "version": baseline.version,
                         "effective_from": plain(baseline.effective_from)})  # fmt: skip


class Replay(BaseModel):
    """Why a dead letter is replayed (written to the audit log)."""

    reason: str


@router.post("/dead-letters/{dead_letter_id}/replay", summary="Replay a dead letter (audited)")
async def replay(
    request: Request, principal: Caller, dead_letter_id: int, body: Replay
) -> JSONResponse:
    api = state_of(request).orchestrator()
    failures = api.telemetry.log_export_failures if api.telemetry else 0
    letter = await run_in_threadpool(
        lambda: actions.replay_dead_letter(
            api, principal.user, dead_letter_id, body.reason, confirmed=True
        )
    )
    delivered = not (api.telemetry and api.telemetry.log_export_failures > failures)
    return JSONResponse({"dead_letter": records([letter])[0], "audit_event_delivered": delivered})


class Decision(BaseModel):
    """Approve or reject a run waiting for a human decision."""

    decision: Literal["approve", "reject"]
    reason: str
    name: str | None = None


@router.post("/approvals/{run_id}", summary="Approve or reject a waiting run (audited)")
async def decide(request: Request, principal: Caller, run_id: str, body: Decision) -> JSONResponse:
    name = await run_in_threadpool(
        actions.decide_approval, state_of(request).orchestrator(), principal.user, run_id,
        body.decision, body.reason, body.name,
    )  # fmt: skip
    return JSONResponse({"run_id": run_id, "decision": body.decision, "approval": name})


class Statement(BaseModel):
    """One read-only SQL statement."""

    statement: str = Field(min_length=1)


@router.post("/sql", summary="A read-only query (ClickHouse readonly=1); admin, every tenant")
async def sql(request: Request, principal: Caller, body: Statement) -> JSONResponse:
    require(principal.user, "store.admin")
    _unrestricted(principal, "SQL")
    columns, rows = await run_in_threadpool(state_of(request).store.read_only, body.statement)
    return JSONResponse({"columns": columns, "rows": [[_cell(v) for v in row] for row in rows]})


def _cell(value: Any) -> Any:
    # `flowmeter sql` prints str(value): send that text for anything JSON would change.
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return str(value)


@router.post("/migrate", summary="Apply pending schema migrations (done at start as well)")
async def migrate_store(request: Request, principal: Caller) -> JSONResponse:
    require(principal.user, "store.admin")
    _unrestricted(principal, "a migration")
    state = state_of(request)

    def run() -> dict[str, Any]:
        from orchestrator.state import store_from_settings

        applied = migrate(state.store)
        altered = apply_retention(state.store, state.settings.retention_days)
        revisions: list[str] = []
        store_from_settings(state.settings, revisions.append).close()
        return {
            "applied": [f"{m.version:03d}_{m.name}" for m in applied],
            "retention": [[t.table, t.days] for t in altered],
            "state_revisions": revisions,
        }

    return JSONResponse(await run_in_threadpool(run))
