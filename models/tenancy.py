"""Tenant restriction shared by every analytics query.

Each query takes ``all_tenants UInt8`` and ``tenants Array(String)`` and applies
``({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, <tenant column>))``, so a
dashboard user limited to some tenants never sees another tenant's rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

__all__ = ["tenant_params", "utc"]


def tenant_params(tenants: Sequence[str] | None) -> dict[str, object]:
    """Bound parameters for a tenant restriction (None = every tenant, [] = none)."""
    if tenants is None:
        return {"all_tenants": 1, "tenants": []}
    if isinstance(tenants, str):
        raise TypeError("tenants is a sequence of tenant ids, not one string")
    return {"all_tenants": 0, "tenants": list(tenants)}


def utc(moment: datetime) -> datetime:
    """``moment`` as a naive UTC datetime (how ClickHouse DateTime parameters travel)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
