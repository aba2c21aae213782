"""Sidebar choices and freshness, against a real chDB store."""

from __future__ import annotations

from datetime import datetime, timedelta

from models.db import Store
from models.dimensions import dimension_values, newest_record
from tests.builders import kpi_event, run


def test_dimensions_and_freshness_respect_the_tenant_scope(store: Store) -> None:
    assert dimension_values(store) == {"tenant": [], "product_line": [], "workflow": []}
    assert newest_record(store) is None
    moment = datetime(2026, 11, 20, 10, 30)
    run(store, moment, "invoice", tenant="tenant-a", product_line="retail")
    run(store, moment + timedelta(hours=5), "refund", tenant="tenant-b", product_line="b2b")
    kpi_event(store, moment, "invoice_posted", tenant="tenant-a", workflow="invoice")
    everything = dimension_values(store)
    assert everything["tenant"] == ["tenant-a", "tenant-b"]
    assert everything["workflow"] == ["invoice", "refund"]
    only_a = dimension_values(store, ["tenant-a"])
    assert only_a == {"tenant": ["tenant-a"], "product_line": ["retail"], "workflow": ["invoice"]}
    assert newest_record(store) == datetime(2026, 11, 20, 15, 30)
    assert newest_record(store, ["tenant-a"]) == datetime(2026, 11, 20, 10, 30)
    assert newest_record(store, []) is None
