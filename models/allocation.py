"""Shared-cost allocation, pure and exact: the pieces of every amount sum back to it exactly.

A shared line (``allocation_method = 'shared'``: a platform bill tied to no tenant) is split
over group keys by the policy — ``proportional`` to usage (runs), ``even`` over the keys
seen in the period, or fixed ``weights`` — and each piece records ``shared:<policy>``. When
nothing can carry it (no usage, no weights), it stays one visible ``unallocated`` line: idle
cost is never spread silently. Direct lines (tag, usage, unallocated) pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_FLOOR, Decimal

__all__ = ["POLICIES", "CostLine", "allocate", "split_exact"]

POLICIES = ("proportional", "even", "weights")
SHARED = "shared"
UNALLOCATED = "unallocated"


@dataclass(frozen=True)
class CostLine:
    """Cost of one group key in one period, currency and allocation method."""

    key: str
    currency: str
    method: str
    billed: Decimal
    effective: Decimal


def split_exact(amount: Decimal, weights: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Split ``amount`` by weights in cents (or its finer precision); the parts sum to ``amount`` exactly."""
    positive = {k: w for k, w in weights.items() if w > 0}
    total = sum(positive.values(), Decimal(0))
    if not positive or total == 0:
        raise ValueError("nothing to split over: every weight is zero")
    exponent = min(int(amount.normalize().as_tuple().exponent), -2)
    quantum = Decimal(1).scaleb(exponent)
    raw = {k: amount * w / total for k, w in positive.items()}
    parts = {k: v.quantize(quantum, rounding=ROUND_FLOOR) for k, v in raw.items()}
    leftover_units = int(((amount - sum(parts.values(), Decimal(0))) / quantum).to_integral_value())
    # Largest remainder first; ties by key so the result does not depend on dict order.
    order = sorted(positive, key=lambda k: (-(raw[k] - parts[k]), k))
    for k in order[:leftover_units]:
        parts[k] += quantum
    return parts


def allocate(
    lines: Sequence[CostLine],
    *,
    policy: str,
    usage: Mapping[str, Decimal] | None = None,
    weights: Mapping[str, Decimal] | None = None,
) -> list[CostLine]:
    """Split the period's shared lines by policy; return direct lines + pieces + what could not be split."""
    if policy not in POLICIES:
        raise ValueError(f"allocation policy must be one of {', '.join(POLICIES)}, not {policy!r}")
    direct = [line for line in lines if line.method != SHARED]
    shared = [line for line in lines if line.method == SHARED]
    if policy == "proportional":
        basis = {k: Decimal(v) for k, v in (usage or {}).items() if k}
    elif policy == "weights":
        basis = {k: Decimal(v) for k, v in (weights or {}).items() if k}
    else:
        keys = {line.key for line in direct if line.key} | {
            k for k, v in (usage or {}).items() if k and v > 0
        }
        basis = dict.fromkeys(keys, Decimal(1))
    result = list(direct)
    for line in shared:
        if sum((w for w in basis.values() if w > 0), Decimal(0)) == 0:
            result.append(replace(line, key="", method=UNALLOCATED))
            continue
        billed = split_exact(line.billed, basis)
        effective = split_exact(line.effective, basis)
        for key in sorted(billed):
            result.append(
                CostLine(key, line.currency, f"{SHARED}:{policy}", billed[key], effective[key])
            )
    return result
