"""write_kpi_events against a real chDB store: one row per event_id, whatever is re-sent."""

from __future__ import annotations

import threading
from decimal import Decimal

from collectors.kpi_store import LOOKUP_CHUNK, write_kpi_events
from models.db import Store
from models.kpi import KpiEvent, kpi_event_from_record

_COUNTS = "SELECT event_id, count() FROM business_events GROUP BY event_id ORDER BY event_id"


def _event(event_id: str, **fields: object) -> KpiEvent:
    return kpi_event_from_record(
        {"event_id": event_id, "ts": "2026-11-25T10:00:00Z", "kpi": "order_advanced", **fields}
    )


def test_new_events_land_with_every_column(store: Store) -> None:
    event = _event(
        "e-1",
        ts="2026-11-25T12:00:00.125+02:00",
        value=2,
        amount="1234.5678",
        currency="EUR",
        entity_type="order",
        entity_id="o-9",
        correlation_id="c-1",
        trace_id="0af7651916cd43dd8448eb211c80319c",
        workflow="order_to_cash",
        tenant_id="acme",
        product_line="retail",
        attributes={"channel": "web"},
    )
    assert write_kpi_events(store, [event]) == 1
    _, rows = store.read_only(
        "SELECT event_id, toString(ts), kpi, value, amount, currency, entity_type, entity_id, "
        "correlation_id, trace_id, workflow, tenant_id, product_line, attributes, "
        "schema_version FROM business_events"
    )
    assert rows == [
        (
            "e-1",
            "2026-11-25 10:00:00.125",
            "order_advanced",
            2.0,
            Decimal("1234.5678"),
            "EUR",
            "order",
            "o-9",
            "c-1",
            "0af7651916cd43dd8448eb211c80319c",
            "order_to_cash",
            "acme",
            "retail",
            {"channel": "web"},
            1,
        )
    ]


def test_optional_fields_absent_store_empty_strings_and_null_amount(store: Store) -> None:
    write_kpi_events(store, [_event("e-1")])
    _, rows = store.read_only(
        "SELECT amount, currency, entity_id, trace_id, tenant_id, attributes FROM business_events"
    )
    assert rows == [(None, "", "", "", "", {})]


def test_same_event_twice_in_one_batch_is_written_once(store: Store) -> None:
    first = _event("dup", value=1)
    second = _event("dup", value=5)
    assert write_kpi_events(store, [first, second, _event("other")]) == 2
    _, rows = store.read_only(_COUNTS)
    assert rows == [("dup", 1), ("other", 1)]
    _, values = store.read_only("SELECT value FROM business_events WHERE event_id = 'dup'")
    assert values == [(1.0,)]  # the first copy wins


def test_resending_across_writes_adds_nothing(store: Store) -> None:
    assert write_kpi_events(store, [_event("a"), _event("b")]) == 2
    assert write_kpi_events(store, [_event("b"), _event("c"), _event("a")]) == 1
    assert write_kpi_events(store, [_event("a"), _event("b"), _event("c")]) == 0
    _, rows = store.read_only(_COUNTS)
    assert rows == [("a", 1), ("b", 1), ("c", 1)]


def test_resent_event_with_another_timestamp_is_not_counted_again(store: Store) -> None:
    # Another month means another partition: the table engine alone would keep both.
    write_kpi_events(store, [_event("moved", ts="2026-01-31T23:59:59Z")])
    assert write_kpi_events(store, [_event("moved", ts="2026-02-01T00:00:01Z")]) == 0
    _, rows = store.read_only("SELECT count() FROM business_events FINAL")
    assert rows == [(1,)]


def test_lookup_spans_several_chunks(store: Store) -> None:
    count = LOOKUP_CHUNK + 5
    events = [_event(f"bulk-{i:06d}") for i in range(count)]
    assert write_kpi_events(store, events) == count
    again = [*events[-3:], _event("fresh"), *events[:3]]
    assert write_kpi_events(store, again) == 1
    _, rows = store.read_only("SELECT count(), uniqExact(event_id) FROM business_events")
    assert rows == [(count + 1, count + 1)]


def test_empty_batch_writes_nothing(store: Store) -> None:
    assert write_kpi_events(store, []) == 0
    _, rows = store.read_only("SELECT count() FROM business_events")
    assert rows == [(0,)]


def test_amounts_keep_their_exact_value(store: Store) -> None:
    events = [
        _event("exp", amount=Decimal("1E+2"), currency="EUR"),
        _event("max", amount="-99999999999999.9999", currency="EUR"),
        _event("small", amount="0.0001", currency="JPY"),
    ]
    write_kpi_events(store, events)
    _, rows = store.read_only(
        "SELECT event_id, toString(amount) FROM business_events ORDER BY event_id"
    )
    assert rows == [("exp", "100"), ("max", "-99999999999999.9999"), ("small", "0.0001")]


def test_concurrent_writers_of_the_same_events_store_each_once(store: Store) -> None:
    events = [_event(f"race-{i}") for i in range(200)]
    start = threading.Barrier(4)
    written: list[int] = []
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            start.wait()
            written.append(write_kpi_events(store, events))
        except BaseException as exc:  # surfaced by the assert below
            failures.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(written) == [0, 0, 0, 200]
    _, rows = store.read_only("SELECT count(), uniqExact(event_id) FROM business_events")
    assert rows == [(200, 200)]
