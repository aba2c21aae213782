"""Invoice generation: fetch the order from the ERP, post the invoice, e-mail it."""

from __future__ import annotations

from typing import Any

from orchestrator.execution import current_call
from orchestrator.flows.catalog import SLA_SECONDS, UPSTREAM_RETRY, money, require
from orchestrator.flows.systems import SYSTEMS
from orchestrator.workflow import kpi, step, workflow

__all__ = ["invoice_generation"]


@step("fetch_order", dependency="erp", retry=UPSTREAM_RETRY, timeout=4.0)
def fetch_order(invoice: dict[str, Any]) -> dict[str, Any]:
    return SYSTEMS["erp"].call("GET", "/orders/{id}", invoice)


@step("post_invoice", dependency="erp", retry=UPSTREAM_RETRY, timeout=4.0,
      idempotency_key=lambda invoice: f"invoice:{invoice['id']}")  # fmt: skip
def post_invoice(invoice: dict[str, Any]) -> dict[str, Any]:
    result = SYSTEMS["erp"].call("POST", "/invoices", invoice)
    kpi("invoice_posted", amount=money(invoice["amount"]), currency=invoice["currency"])
    return result


@step("email_invoice", dependency="email", retry=UPSTREAM_RETRY)
def email_invoice(invoice: dict[str, Any]) -> None:
    SYSTEMS["email"].call("POST", "/messages", invoice)
    call = current_call()
    if call is not None:
        elapsed = call.clock.now() - call.run.created_at
        kpi("sla_met" if elapsed <= SLA_SECONDS["invoice_generation"] else "sla_missed", elapsed)


@workflow("invoice_generation", validate=lambda p: require(p, "id", "amount", "currency"))
def invoice_generation(invoice: dict[str, Any]) -> str:
    fetch_order(invoice)
    post_invoice(invoice)
    email_invoice(invoice)
    return "posted"
