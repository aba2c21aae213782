"""Refund handling: fraud check, a human approval for large refunds, then pay out."""

from __future__ import annotations

from typing import Any

from models.errors import ApprovalTimeoutError
from orchestrator.execution import current_call
from orchestrator.flows.catalog import UPSTREAM_RETRY, money, require
from orchestrator.flows.systems import SYSTEMS
from orchestrator.workflow import kpi, step, wait_for_approval, workflow

__all__ = ["APPROVAL_OVER", "refund_handling"]

APPROVAL_OVER = 800.0


@step("fraud_check", dependency="crm", retry=UPSTREAM_RETRY)
def fraud_check(refund: dict[str, Any]) -> bool:
    SYSTEMS["crm"].call("GET", "/customers/{id}/risk", refund)
    call = current_call()
    risky = call is not None and int(call.run.id[:4], 16) % 13 == 0
    if risky:
        kpi("refund_prevented", amount=money(refund["amount"]), currency=refund["currency"])
    return not risky


@step("pay_refund", dependency="payments", retry=UPSTREAM_RETRY, timeout=4.0,
      idempotency_key=lambda refund: f"refund:{refund['id']}")  # fmt: skip
def pay_refund(refund: dict[str, Any]) -> dict[str, Any]:
    return SYSTEMS["payments"].call("POST", "/refunds", refund)


@step("notify_customer", dependency="email", retry=UPSTREAM_RETRY)
def notify_customer(refund: dict[str, Any]) -> None:
    SYSTEMS["email"].call("POST", "/messages", refund)


@workflow("refund_handling", validate=lambda p: require(p, "id", "amount", "currency", "customer"))
def refund_handling(refund: dict[str, Any]) -> str:
    if not fraud_check(refund):
        return "blocked"
    if refund["amount"] > APPROVAL_OVER:
        try:
            if wait_for_approval("finance", timeout=4 * 3600) == "rejected":
                return "rejected"
        except ApprovalTimeoutError:
            return "expired"
    pay_refund(refund)
    notify_customer(refund)
    return "refunded"
