"""Demo tenants, product lines, SLAs, retry policies and payload generation."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from models.errors import PoisonMessageError, StepTimeoutError
from orchestrator.flows.systems import UpstreamError
from orchestrator.policy import RetryPolicy

__all__ = [
    "PRODUCT_LINES",
    "SLA_SECONDS",
    "TENANTS",
    "UPSTREAM_RETRY",
    "make_payload",
    "money",
    "require",
]

TENANTS = {"acme": "EUR", "globex": "USD", "initech": "EUR"}
PRODUCT_LINES = {
    "hardware": (120.0, 2400.0),
    "software": (40.0, 900.0),
    "services": (300.0, 6000.0),
}
SLA_SECONDS = {"order_to_cash": 600.0, "invoice_generation": 300.0,
               "refund_handling": 900.0, "lead_qualification": 240.0}  # fmt: skip
UPSTREAM_RETRY = RetryPolicy(max_attempts=4, base_delay=2.0, max_delay=60.0,
                             retry_on=(UpstreamError, StepTimeoutError))  # fmt: skip


def require(payload: Any, *fields: str) -> None:
    """Raise PoisonMessageError naming the first missing or empty field."""
    if not isinstance(payload, dict):
        raise PoisonMessageError(f"payload must be an object, got {type(payload).__name__}")
    for name in fields:
        if payload.get(name) in (None, ""):
            raise PoisonMessageError(f"payload field {name!r} is missing or empty")


def money(value: Any) -> Decimal:
    """A payload's amount as Decimal: the decimal text the JSON payload carried (a JSON
    number's shortest repr), never the binary float it was parsed into."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def make_payload(
    workflow: str, n: int, rng: random.Random, tenant: str, line: str
) -> dict[str, Any]:
    """A plausible business payload; about 1 in 100 is malformed (poison)."""
    low, high = PRODUCT_LINES[line]
    amount = round(rng.uniform(low, high), 2)
    payload: dict[str, Any] = {"id": f"{workflow[:3]}-{tenant}-{n:06d}", "amount": amount,
                               "currency": TENANTS[tenant], "customer": f"cust-{rng.randint(1, 900)}"}  # fmt: skip
    if workflow == "lead_qualification":
        payload["company_size"] = rng.choice([5, 20, 80, 400, 2500])
    if workflow == "refund_handling":
        payload["amount"] = round(amount * rng.uniform(0.05, 0.6), 2)
    if rng.random() < 1 / 100:
        payload.pop(rng.choice(["currency", "customer"]))
    return payload
