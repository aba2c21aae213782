"""Lead qualification: enrich from the CRM, score, route to sales, notify."""

from __future__ import annotations

from typing import Any

from orchestrator.flows.catalog import UPSTREAM_RETRY, money, require
from orchestrator.flows.systems import SYSTEMS
from orchestrator.workflow import kpi, step, workflow

__all__ = ["lead_qualification"]


@step("enrich_lead", dependency="crm", retry=UPSTREAM_RETRY, timeout=4.0)
def enrich_lead(lead: dict[str, Any]) -> dict[str, Any]:
    return SYSTEMS["crm"].call("GET", "/companies/{id}", lead)


@step("score_lead")
def score_lead(lead: dict[str, Any]) -> float:
    size = float(lead.get("company_size", 10))
    return round(min(100.0, 20.0 + size / 30.0 + lead["amount"] / 100.0), 1)


@step("route_lead", dependency="crm", retry=UPSTREAM_RETRY,
      idempotency_key=lambda lead, score: f"route:{lead['id']}")  # fmt: skip
def route_lead(lead: dict[str, Any], score: float) -> dict[str, Any]:
    result = SYSTEMS["crm"].call("POST", "/opportunities", lead)
    kpi("lead_qualified", score, amount=money(lead["amount"]), currency=lead["currency"])
    return result


@step("notify_sales", dependency="email", retry=UPSTREAM_RETRY)
def notify_sales(lead: dict[str, Any]) -> None:
    SYSTEMS["email"].call("POST", "/messages", lead)


@workflow(
    "lead_qualification", validate=lambda p: require(p, "id", "amount", "currency", "customer")
)
def lead_qualification(lead: dict[str, Any]) -> str:
    enrich_lead(lead)
    score = float(score_lead(lead))
    if score < 40:
        return "nurture"
    route_lead(lead, score)
    notify_sales(lead)
    return "routed"
