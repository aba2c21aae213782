"""Demo business workflows over simulated external systems (importing registers them)."""

from __future__ import annotations

from orchestrator.flows import invoices, leads, orders, refunds

__all__ = ["invoices", "leads", "orders", "refunds"]
