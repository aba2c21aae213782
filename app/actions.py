"""What the dashboard may change, each behind its server-side check (no Streamlit here).

Every function takes the signed-in ``User`` and refuses (PermissionDeniedError) before it
touches anything when the role or the tenant does not allow it. The views only call these.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.access import User, require, require_tenant
from app.alerts.probe import send_test_notification
from app.delivery import Outcome
from models.alerts.history import load_states
from models.alerts.rules import Rule
from models.alerts.silences import Silence, record_silence, state_tenant
from models.baselines import set_baseline
from models.db import Store
from models.errors import NotFoundError, PermissionDeniedError
from models.roi import Baseline
from models.settings import Settings
from orchestrator.api import OrchestratorAPI

__all__ = [
    "REDACTED",
    "change_baseline",
    "decide_approval",
    "pending_approvals",
    "readable_audit_log",
    "readable_dead_letters",
    "redact",
    "replay_dead_letter",
    "send_test_alert",
    "silence_alert",
]

REDACTED = "•••• redacted"


def readable_dead_letters(
    api: OrchestratorAPI, tenants: tuple[str, ...] | None, *, workflow: str = "", reason: str = "",
    replayed: bool | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Dead letters the reader's tenant scope allows, newest first."""
    filters: dict[str, Any] = {"replayed": replayed}
    if workflow:
        filters["workflow"] = workflow
    if reason:
        filters["reason"] = reason
    # the tenant filter is in the query, before its row limit
    return api.dead_letters(**filters, tenant_ids=tenants)


def readable_audit_log(
    api: OrchestratorAPI, tenants: tuple[str, ...] | None, *, limit: int = 200
) -> list[dict[str, Any]]:
    """Audit rows about records of the reader's tenants (filtered in the query, then cut
    to ``limit``); an unrestricted reader sees every row."""
    return api.audit_log(limit=limit, tenant_ids=tenants)


def pending_approvals(
    api: OrchestratorAPI, tenants: tuple[str, ...] | None
) -> list[dict[str, Any]]:
    """Approvals waiting for a decision, within the reader's tenant scope."""
    return api.pending_approvals(tenant_ids=tenants)  # filtered in the query


def replay_dead_letter(
    api: OrchestratorAPI, user: User, dead_letter_id: int, reason: str, *, confirmed: bool
) -> dict[str, Any]:
    """Replay one dead letter as ``user``: role and tenant checked, reason mandatory, audited."""
    require(user, "dead_letter.replay")
    if not reason.strip():
        raise ValueError("a replay needs a reason: it is written to the audit log")
    if not confirmed:
        raise ValueError("confirm the replay first")
    letter = api.dead_letter(int(dead_letter_id))
    require_tenant(user, str(letter.get("tenant_id", "")))
    return api.replay(int(dead_letter_id), actor=user.name, reason=reason.strip())


def decide_approval(
    api: OrchestratorAPI, user: User, run_id: str, decision: str, reason: str,
    name: str | None = None,
) -> str:  # fmt: skip
    """Approve or reject a waiting run as ``user``; role and tenant checked, audited."""
    require(user, "approval.decide")
    if decision not in ("approve", "reject"):
        raise ValueError("decision is 'approve' or 'reject'")
    if not reason.strip():
        raise ValueError("a decision needs a reason: it is written to the audit log")
    require_tenant(user, str(api.run(run_id).get("tenant_id", "")))
    act = api.approve if decision == "approve" else api.reject
    return act(run_id, actor=user.name, reason=reason.strip(), name=name)


def redact(value: Any, patterns: Sequence[str]) -> Any:
    """A copy of a payload with the values of sensitive keys (glob patterns) masked."""
    lowered = [p.lower() for p in patterns]
    if isinstance(value, dict):
        return {
            key: REDACTED
            if any(fnmatch.fnmatchcase(str(key).lower(), p) for p in lowered)
            else redact(item, patterns)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item, patterns) for item in value]
    return value


def change_baseline(
    store: Store, user: User, workflow: str, *, manual_minutes: Decimal, hourly_rate: Decimal,
    manual_error_rate: Decimal, cost_per_error: Decimal, currency: str, reason: str,
    effective_from: datetime | None = None, go_live_at: datetime | None = None,
) -> Baseline:  # fmt: skip
    """Record a new baseline version as ``user`` (finance or admin), with the reason, in history."""
    require(user, "baseline.change")
    if user.restricted:
        raise PermissionDeniedError(
            f"{user.name} sees only some tenants; baselines apply to every tenant's ROI, so "
            "only an unrestricted finance or admin user may change them"
        )
    return set_baseline(
        store, workflow, manual_minutes=manual_minutes, hourly_rate=hourly_rate,
        manual_error_rate=manual_error_rate, cost_per_error=cost_per_error, currency=currency,
        reason=reason, changed_by=user.name, effective_from=effective_from, go_live_at=go_live_at,
    )  # fmt: skip


def silence_alert(
    store: Store, user: User, rules: Mapping[str, Rule], fingerprint: str, kind: str,
    reason: str, duration: timedelta, *, now: datetime | None = None,
) -> Silence:  # fmt: skip
    """Silence (no notification until it ends) or acknowledge one alert as ``user``: role and
    tenant checked, reason mandatory, kept in ``alert_silences``."""
    require(user, "alert.silence")
    if not reason.strip():
        raise ValueError("a silence or acknowledgement needs a reason: it is kept in the audit")
    if duration <= timedelta(0):
        raise ValueError("the duration must be positive")
    state = load_states(store).get(fingerprint)
    if state is None:
        raise NotFoundError(f"no alert with fingerprint {fingerprint!r}")
    tenant = state_tenant(state, rules)
    if tenant == "" and user.restricted:  # platform-wide: every tenant's alert
        raise PermissionDeniedError(
            f"{user.name} sees only some tenants and may not silence a platform-wide alert"
        )
    require_tenant(user, tenant)
    moment = now or datetime.now(UTC)
    silence = Silence(at=moment, rule=state.rule, fingerprint=fingerprint, tenant=tenant,
                      kind=kind, until=moment + duration, actor=user.name,
                      reason=reason.strip())  # fmt: skip
    record_silence(store, silence)
    return silence


def send_test_alert(settings: Settings, store: Store | None, user: User) -> list[Outcome]:
    """Send one test alert through every configured channel as ``user`` (engineer or admin)."""
    require(user, "alert.test")
    return send_test_notification(settings, store, user.name)
