"""Order-to-cash: reserve stock, charge, ship, confirm (a saga: failures undo earlier steps)."""

from __future__ import annotations

from typing import Any

from orchestrator.execution import current_call
from orchestrator.flows.catalog import SLA_SECONDS, UPSTREAM_RETRY, money, require
from orchestrator.flows.systems import SYSTEMS
from orchestrator.workflow import kpi, step, workflow

__all__ = ["order_to_cash"]


def _order_key(prefix: str) -> Any:
    return lambda order, *_: f"{prefix}:{order['id']}"


@step("release_inventory", dependency="erp", retry=UPSTREAM_RETRY)
def release_inventory(order: dict[str, Any], reservation: dict[str, Any]) -> None:
    SYSTEMS["erp"].call("DELETE", "/reservations", order)


@step("refund_payment", dependency="payments", retry=UPSTREAM_RETRY,
      idempotency_key=_order_key("refund-payment"))  # fmt: skip
def refund_payment(order: dict[str, Any], charge: dict[str, Any]) -> None:
    SYSTEMS["payments"].call("POST", "/refunds", order)


@step("reserve_inventory", dependency="erp", retry=UPSTREAM_RETRY, timeout=4.0,
      compensate=release_inventory)  # fmt: skip
def reserve_inventory(order: dict[str, Any]) -> dict[str, Any]:
    return SYSTEMS["erp"].call("POST", "/reservations", order)


@step("charge_payment", dependency="payments", retry=UPSTREAM_RETRY, timeout=4.0,
      idempotency_key=_order_key("charge"), compensate=refund_payment)  # fmt: skip
def charge_payment(order: dict[str, Any]) -> dict[str, Any]:
    result = SYSTEMS["payments"].call("POST", "/charges", order)
    kpi("order_advanced", amount=money(order["amount"]), currency=order["currency"])
    return result


@step("create_shipment", dependency="shipping", retry=UPSTREAM_RETRY, timeout=4.0)
def create_shipment(order: dict[str, Any]) -> dict[str, Any]:
    result = SYSTEMS["shipping"].call("POST", "/shipments", order)
    kpi("order_advanced", amount=money(order["amount"]), currency=order["currency"])
    return result


@step("send_confirmation", dependency="email", retry=UPSTREAM_RETRY)
def send_confirmation(order: dict[str, Any]) -> None:
    SYSTEMS["email"].call("POST", "/messages", order)
    call = current_call()
    if call is not None:
        elapsed = call.clock.now() - call.run.created_at
        kpi("sla_met" if elapsed <= SLA_SECONDS["order_to_cash"] else "sla_missed", elapsed)


@workflow("order_to_cash", validate=lambda p: require(p, "id", "amount", "currency", "customer"))
def order_to_cash(order: dict[str, Any]) -> str:
    reserve_inventory(order)
    charge_payment(order)
    create_shipment(order)
    send_confirmation(order)
    return "fulfilled"
