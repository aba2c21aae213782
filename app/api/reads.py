"""Read endpoints: workflows, ROI, KPIs, health, costs, baselines, dead letters, approvals,
audit. Each checks the caller's role like the dashboard's navigation and reads only the
caller's tenants, through the same ``models`` / ``app.actions`` functions the views use."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from app import actions
from app.access import require_tenant
from app.api.app import BadInputError, reader, state_of
from app.api.auth import Principal
from app.api.encoding import answer
from models import costs, health, kpis, roi_report
from models.baselines import baseline_history

__all__ = ["router"]

router = APIRouter(tags=["read"])

_STEP_OUTLINE = ("seq", "step_key", "status", "attempts", "error", "error_type", "finished_at")

From = Annotated[date, Query(alias="from", description="First day (YYYY-MM-DD), inclusive.")]
To = Annotated[date, Query(alias="to", description="Last day (YYYY-MM-DD), inclusive.")]
Tenant = Annotated[str, Query(description="Only this tenant (must be one of the token's).")]
Workflow = Annotated[str, Query(description="Only this workflow.")]
Format = Annotated[
    Literal["json", "csv"],
    Query(alias="format", description="json (default) or csv; or send Accept: text/csv."),
]


def _period(first: date, last: date) -> tuple[datetime, datetime]:
    if last < first:
        raise BadInputError("to", f"{last} is before from ({first})")
    return datetime.combine(first, time(0)), datetime.combine(last + timedelta(days=1), time(0))


def _tenants(principal: Principal, tenant: str) -> tuple[str, ...] | None:
    """The tenants a read covers: the caller's, or the one asked for if it is theirs."""
    user = principal.user
    if tenant:
        require_tenant(user, tenant)
        return (tenant,)
    return user.tenants if user.restricted else None


@router.get("/workflows", summary="Runs, errors and latency per workflow")
async def workflows(
    request: Request, principal: Annotated[Principal, Depends(reader("health"))],
    start: From, end: To, tenant: Tenant = "", fmt: Format = "json",
) -> Response:  # fmt: skip
    first, last = _period(start, end)
    store = state_of(request).store
    frame = await run_in_threadpool(
        health.health_summary, store, first, last, by="workflow",
        tenants=_tenants(principal, tenant),
    )  # fmt: skip
    return answer(request, frame.rename(columns={"key": "workflow"}))


@router.get("/roi", summary="ROI per workflow and baseline version")
async def roi(
    request: Request, principal: Annotated[Principal, Depends(reader("roi"))],
    start: From, end: To, workflow: Workflow = "", tenant: Tenant = "", fmt: Format = "json",
) -> Response:  # fmt: skip
    first, last = _period(start, end)
    settings = state_of(request).settings
    frame = await run_in_threadpool(
        roi_report.roi_report, state_of(request).store, first, last, workflow=workflow,
        policy=settings.cost_allocation_policy, weights=settings.cost_allocation_weights,
        tenants=_tenants(principal, tenant),
    )  # fmt: skip
    return answer(request, frame)


@router.get("/kpis", summary="Business KPIs against the previous period")
async def kpi_summary(
    request: Request, principal: Annotated[Principal, Depends(reader("roi"))],
    start: From, end: To, workflow: Workflow = "", tenant: Tenant = "", fmt: Format = "json",
) -> Response:  # fmt: skip
    first, last = _period(start, end)
    frame = await run_in_threadpool(
        kpis.kpi_summary, state_of(request).store, first, last, workflow=workflow,
        tenants=_tenants(principal, tenant),
    )  # fmt: skip
    return answer(request, frame)


@router.get("/health", summary="Health and SLO status per workflow, step, tenant or service")
async def health_summary(
    request: Request, principal: Annotated[Principal, Depends(reader("health"))],
    start: From, end: To,
    by: Annotated[Literal["workflow", "step", "tenant", "service"], Query()] = "workflow",
    workflow: Workflow = "", tenant: Tenant = "", fmt: Format = "json",
) -> Response:  # fmt: skip
    first, last = _period(start, end)
    state = state_of(request)
    frame = await run_in_threadpool(
        health.health_summary, state.store, first, last, by=by, workflow=workflow,
        tenants=_tenants(principal, tenant),
    )  # fmt: skip
    frame = health.slo_status(
        frame, success_target=state.settings.slo_success_target,
        p95_target_ms=state.settings.slo_p95_ms,
    )  # fmt: skip
    return answer(request, frame)


@router.get(
    "/costs", summary="Attributed cost (showback / chargeback), as `flowmeter export costs`"
)
async def attributed_costs(
    request: Request, principal: Annotated[Principal, Depends(reader("costs"))],
    start: From, end: To,
    by: Annotated[Literal["tenant", "product_line", "workflow"], Query()] = "tenant",
    tenant: Tenant = "", fmt: Format = "json",
) -> Response:  # fmt: skip
    first, last = _period(start, end)
    settings = state_of(request).settings
    frame = await run_in_threadpool(
        costs.attributed_costs, state_of(request).store, first.date(), last.date(), by=by,
        policy=settings.cost_allocation_policy, weights=settings.cost_allocation_weights,
        tenants=_tenants(principal, tenant),
    )  # fmt: skip
    return answer(request, frame)


@router.get("/baselines", summary="Every ROI baseline version, oldest first")
async def baselines(
    request: Request, principal: Annotated[Principal, Depends(reader("baselines"))],
    workflow: Workflow = "", fmt: Format = "json",
) -> Response:  # fmt: skip
    frame = await run_in_threadpool(baseline_history, state_of(request).store, workflow)
    return answer(request, frame)


@router.get("/dead-letters", summary="Dead letters within the caller's tenants, newest first")
async def dead_letters(
    request: Request, principal: Annotated[Principal, Depends(reader("operations"))],
    workflow: Workflow = "", reason: Annotated[str, Query()] = "",
    show_all: Annotated[bool, Query(alias="all", description="Include replayed entries.")] = False,
    tenant: Tenant = "", fmt: Format = "json",
) -> Response:  # fmt: skip
    api = state_of(request).orchestrator()
    rows = await run_in_threadpool(
        actions.readable_dead_letters, api, _tenants(principal, tenant), workflow=workflow,
        reason=reason, replayed=None if show_all else False,
    )  # fmt: skip
    return answer(request, rows)


@router.get("/dead-letters/{dead_letter_id}", summary="One dead letter with payload and steps")
async def dead_letter(
    request: Request, principal: Annotated[Principal, Depends(reader("operations"))],
    dead_letter_id: int,
) -> Response:  # fmt: skip
    state = state_of(request)
    letter = await run_in_threadpool(state.orchestrator().dead_letter, dead_letter_id)
    require_tenant(principal.user, str(letter.get("tenant_id", "")))
    if not principal.local:  # the data dir's owner sees what `dlq show` always showed
        letter["payload"] = actions.redact(letter["payload"], state.settings.redact_keys)
        # step inputs and outputs repeat the payload unredacted: tokens get the outline only
        letter["steps"] = [{k: step.get(k) for k in _STEP_OUTLINE} for step in letter["steps"]]
    return answer(request, [letter])


@router.get("/approvals", summary="Approvals waiting for a decision")
async def approvals(
    request: Request, principal: Annotated[Principal, Depends(reader("operations"))],
    tenant: Tenant = "", fmt: Format = "json",
) -> Response:  # fmt: skip
    rows = await run_in_threadpool(
        actions.pending_approvals, state_of(request).orchestrator(), _tenants(principal, tenant)
    )
    return answer(request, rows)


@router.get("/audit", summary="The audit log (replays, approvals), newest first")
async def audit(
    request: Request, principal: Annotated[Principal, Depends(reader("operations"))],
    limit: Annotated[int, Query(ge=1, le=5000)] = 200, tenant: Tenant = "",
    fmt: Format = "json",
) -> Response:  # fmt: skip
    rows = await run_in_threadpool(
        actions.readable_audit_log, state_of(request).orchestrator(),
        _tenants(principal, tenant), limit=limit,
    )  # fmt: skip
    return answer(request, rows)
