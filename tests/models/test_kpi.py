"""The KPI event contract: OTLP log records, POST /v1/kpi batches, rows for the store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.errors import KpiContractError
from models.kpi import (
    KPI_COLUMNS,
    KpiRejection,
    is_kpi_event_name,
    kpi_event_from_log,
    kpi_event_from_record,
    kpi_rows,
    parse_kpi_batch,
)

TS_NS = 1_764_064_800_123_456_789  # 2025-11-25T10:00:00.123456789Z
TRACE = "0af7651916cd43dd8448eb211c80319c"


def _log(attributes: dict[str, object], **kwargs: Any) -> Any:
    kwargs.setdefault("timestamp_ns", TS_NS)
    return kpi_event_from_log("kpi.order_advanced", attributes, **kwargs)


def _log_error(attributes: dict[str, object], **kwargs: Any) -> str:
    with pytest.raises(KpiContractError) as caught:
        _log(attributes, **kwargs)
    return str(caught.value)


# --- OTLP log records ------------------------------------------------------------------


def test_log_record_maps_every_wire_attribute() -> None:
    event = _log(
        {
            "event.name": "kpi.order_advanced",
            "event.id": "ev-1",
            "schema_version": 1,
            "kpi.value": 3,
            "kpi.amount": "199.99",
            "kpi.currency": "EUR",
            "entity.type": "order",
            "entity.id": "o-42",
            "correlation.id": "corr-7",
            "tenant.id": "acme",
            "product.line": "retail",
            "workflow.name": "order_to_cash",
            "channel": "web",
        },
        trace_id=TRACE.upper(),
    )
    assert event.event_id == "ev-1"
    assert event.kpi == "order_advanced"
    assert event.ts == datetime(2025, 11, 25, 10, 0, 0, 123456, tzinfo=UTC)
    assert event.value == 3.0
    assert event.amount == Decimal("199.99")
    assert event.currency == "EUR"
    assert (event.entity_type, event.entity_id) == ("order", "o-42")
    assert event.correlation_id == "corr-7"
    assert event.trace_id == TRACE
    assert (event.tenant_id, event.product_line, event.workflow) == (
        "acme",
        "retail",
        "order_to_cash",
    )
    assert event.attributes == {"channel": "web"}  # mapped ones and event.name are not repeated
    assert event.schema_version == 1


def test_log_record_defaults_value_one_and_version_one() -> None:
    event = _log({"event.id": "ev-1"})
    assert (event.value, event.schema_version, event.amount, event.currency) == (1.0, 1, None, None)
    assert event.trace_id is None
    assert event.attributes == {}


def test_float_amount_keeps_its_decimal_digits() -> None:
    event = _log({"event.id": "e", "kpi.amount": 12.34, "kpi.currency": "USD"})
    assert event.amount == Decimal("12.34")
    # float arithmetic noise is not silently rounded away: money must be exact
    message = _log_error({"event.id": "e", "kpi.amount": 0.1 + 0.2, "kpi.currency": "USD"})
    assert message.startswith("kpi.amount: at most 4 decimal places")


def test_amount_limits_of_the_decimal_18_4_column() -> None:
    assert _log({"event.id": "e", "kpi.amount": "1.50000", "kpi.currency": "EUR"}).amount == (
        Decimal("1.5")
    )  # trailing zeros are not extra precision
    biggest = "99999999999999.9999"
    assert _log({"event.id": "e", "kpi.amount": biggest, "kpi.currency": "EUR"}).amount == (
        Decimal(biggest)
    )
    assert _log({"event.id": "e", "kpi.amount": -7, "kpi.currency": "EUR"}).amount == -7


def test_non_string_attributes_become_strings() -> None:
    event = _log(
        {
            "event.id": "e",
            "entity.id": 12345,
            "flag": True,
            "ratio": 2.5,
            "whole": 3.0,
            "tags": ["a", "b"],
            "blob": b"\x00\x01",
        }
    )
    assert event.entity_id == "12345"
    assert event.attributes == {
        "flag": "true",
        "ratio": "2.5",
        "whole": "3",
        "tags": '["a","b"]',
        "blob": "AAE=",
    }


@pytest.mark.parametrize("version", [1, 1.0, "1"])
def test_schema_version_one_in_any_attribute_type(version: object) -> None:
    assert _log({"event.id": "e", "schema_version": version}).schema_version == 1


def test_token_tenant_overrides_payload_tenant() -> None:
    assert _log({"event.id": "e", "tenant.id": "spoofed"}, tenant="acme").tenant_id == "acme"
    assert _log({"event.id": "e"}, tenant="acme").tenant_id == "acme"
    assert _log({"event.id": "e", "tenant.id": "own"}).tenant_id == "own"


def test_missing_event_id_is_named() -> None:
    assert _log_error({"kpi.value": 1}) == "event.id: required, missing"


def test_empty_event_id_is_missing() -> None:
    assert _log_error({"event.id": ""}) == "event.id: required, missing"


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"kpi.amount": "10.00"}, "kpi.currency: required when an amount is set"),
        ({"kpi.amount": "10", "kpi.currency": "usd"}, "kpi.currency: not an ISO 4217"),
        ({"kpi.amount": "10", "kpi.currency": "EURO"}, "kpi.currency: not an ISO 4217"),
        ({"kpi.amount": "10", "kpi.currency": "XXX"}, "kpi.currency: not an ISO 4217"),
        ({"kpi.amount": "1.23456", "kpi.currency": "EUR"}, "kpi.amount: at most 4 decimal"),
        ({"kpi.amount": "ten", "kpi.currency": "EUR"}, "kpi.amount: Input should be a valid"),
        ({"kpi.amount": "1" * 15, "kpi.currency": "EUR"}, "kpi.amount: at most 14 digits"),
        ({"kpi.amount": "1e30", "kpi.currency": "EUR"}, "kpi.amount: at most 14 digits"),
        ({"kpi.value": "many"}, "kpi.value: Input should be a valid number"),
        ({"kpi.value": True}, "kpi.value: expected a number, got a boolean"),
        ({"kpi.value": float("nan")}, "kpi.value: Input should be a finite number"),
        ({"schema_version": 2}, "schema_version: version 2 is newer than this Flowmeter"),
        ({"schema_version": 0}, "schema_version: Input should be greater than or equal to 1"),
        ({"schema_version": "v1"}, "schema_version: Input should be a valid integer"),
        ({"schema_version": 1.5}, "schema_version: Input should be a valid integer"),
        ({"schema_version": float("nan")}, "schema_version: Input should be a finite number"),
        ({"entity.id": "x" * 257}, "entity.id: String should have at most 256 characters"),
    ],
)
def test_bad_attribute_is_named_with_its_problem(
    attributes: dict[str, object], expected: str
) -> None:
    message = _log_error({"event.id": "e", **attributes})
    assert message.startswith(expected), message


def test_every_problem_is_reported_at_once() -> None:
    message = _log_error({"kpi.value": "x", "kpi.amount": "1"})
    assert "event.id: required" in message
    assert "kpi.value:" in message
    assert "kpi.currency: required when an amount is set" in message


def test_bad_trace_id_is_rejected_and_all_zero_means_none() -> None:
    assert "trace_id:" in _log_error({"event.id": "e"}, trace_id="abc")
    assert _log({"event.id": "e"}, trace_id="0" * 32).trace_id is None


def test_non_kpi_event_name_and_missing_timestamp_are_refused() -> None:
    with pytest.raises(KpiContractError, match=r"event.name: 'dlq.quarantined' is not a KPI"):
        kpi_event_from_log("dlq.quarantined", {"event.id": "e"}, timestamp_ns=TS_NS)
    with pytest.raises(KpiContractError, match=r"event.name: 'kpi.' is not a KPI"):
        kpi_event_from_log("kpi.", {"event.id": "e"}, timestamp_ns=TS_NS)
    assert _log_error({"event.id": "e"}, timestamp_ns=0).startswith("ts: the log record has no")


def test_kpi_name_must_be_lowercase() -> None:
    with pytest.raises(KpiContractError, match=r"^kpi: String should match pattern"):
        kpi_event_from_log("kpi.OrderAdvanced", {"event.id": "e"}, timestamp_ns=TS_NS)


def test_is_kpi_event_name() -> None:
    assert is_kpi_event_name("kpi.order_advanced")
    assert not is_kpi_event_name("kpi.")
    assert not is_kpi_event_name("kpis.order")
    assert not is_kpi_event_name("dlq.quarantined")


# --- records by field name (JSON API, files) -------------------------------------------


def _record(**fields: object) -> dict[str, object]:
    return {"event_id": "e", "ts": "2026-11-25T10:00:00Z", "kpi": "invoice_posted", **fields}


@pytest.mark.parametrize("field", ["event_id", "ts", "kpi"])
def test_each_required_field_is_named_when_missing(field: str) -> None:
    record = _record()
    del record[field]
    with pytest.raises(KpiContractError, match=rf"^{field}: required, missing$"):
        kpi_event_from_record(record)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"ts": "2026-11-25T10:00:00"}, "ts: Input should have timezone info"),
        ({"ts": 1764064800}, "ts: expected an RFC 3339 date-time"),
        ({"ts": "1800-01-01T00:00:00Z"}, "ts: must lie between 1900-01-01 and 2299-12-31"),
        ({"ts": "yesterday"}, "ts: Input should be a valid datetime"),
        ({"value": [1]}, "value: Input should be a valid number"),
        ({"entity_id": 42}, "entity_id: Input should be a valid string"),
        ({"attributes": {"k": 1}}, "attributes.k: Input should be a valid string"),
        ({"attributes": "k=v"}, "attributes: Input should be a valid dictionary"),
        ({"amount": True, "currency": "EUR"}, "amount: expected a number, got a boolean"),
        ({"colour": "red"}, "colour: unknown field"),
    ],
)
def test_wrong_types_are_named(fields: dict[str, object], expected: str) -> None:
    with pytest.raises(KpiContractError) as caught:
        kpi_event_from_record(_record(**fields))
    assert str(caught.value).startswith(expected), str(caught.value)


def test_record_tenant_override_and_prefix_tolerance() -> None:
    event = kpi_event_from_record(
        _record(tenant_id="spoofed", kpi="kpi.invoice_posted"), tenant="t1"
    )
    assert event.tenant_id == "t1"
    assert event.kpi == "invoice_posted"


def test_timestamps_are_normalised_to_utc() -> None:
    event = kpi_event_from_record(_record(ts="2026-11-25T12:30:00+02:00"))
    assert event.ts == datetime(2026, 11, 25, 10, 30, tzinfo=UTC)
    assert event.ts.utcoffset() is not None


# --- POST /v1/kpi batches ----------------------------------------------------------------


def _body(events: list[object]) -> bytes:
    return json.dumps({"events": events}).encode()


def test_batch_keeps_valid_events_and_rejects_the_others() -> None:
    body = _body(
        [
            _record(event_id="ok-1", amount="10.50", currency="EUR"),
            _record(event_id="bad-1", amount="10.50"),
            "not an object",
            {"kpi": "x"},
            _record(event_id="ok-2", value=2.5),
        ]
    )
    events, rejections = parse_kpi_batch(body, max_events=10)
    assert [e.event_id for e in events] == ["ok-1", "ok-2"]
    assert events[0].amount == Decimal("10.50")
    assert events[1].value == 2.5
    assert rejections == [
        KpiRejection(1, "bad-1", "currency: required when an amount is set"),
        KpiRejection(2, None, "event: expected a JSON object"),
        KpiRejection(3, None, "event_id: required, missing; ts: required, missing"),
    ]


def test_rejection_echoes_an_overlong_event_id_shortened() -> None:
    events, rejections = parse_kpi_batch(_body([_record(event_id="x" * 10_000)]), max_events=1)
    assert events == []
    assert rejections[0].event_id == "x" * 256
    assert rejections[0].reason.startswith("event_id: String should have at most 256 characters")


def test_batch_json_numbers_for_money_stay_exact() -> None:
    body = b'{"events": [{"event_id": "e", "ts": "2026-11-25T10:00:00Z", "kpi": "x", "amount": 0.3, "currency": "EUR"}]}'
    events, _ = parse_kpi_batch(body, max_events=1)
    assert events[0].amount == Decimal("0.3")


def test_batch_non_finite_numbers_are_rejected() -> None:
    body = (
        b'{"events": [{"event_id": "a", "ts": "2026-11-25T10:00:00Z", "kpi": "x", "value": 1e400},'
        b' {"event_id": "b", "ts": "2026-11-25T10:00:00Z", "kpi": "x", "amount": "NaN",'
        b' "currency": "EUR"}]}'
    )
    events, rejections = parse_kpi_batch(body, max_events=2)
    assert events == []
    assert [r.reason.split(" (got")[0] for r in rejections] == [
        "value: Input should be a finite number",
        "amount: Input should be a finite number",
    ]


def test_batch_tenant_overrides_every_event() -> None:
    events, _ = parse_kpi_batch(
        _body([_record(event_id="a", tenant_id="x"), _record(event_id="b")]),
        tenant="acme",
        max_events=5,
    )
    assert [e.tenant_id for e in events] == ["acme", "acme"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", "body: not valid JSON"),
        (b"\xff\xfe\x00garbage", "body: not valid JSON"),
        (b"[]", 'body: expected a JSON object {"events": [...]}'),
        (b'{"events": {}}', 'body: expected a JSON object {"events": [...]}'),
        (b'{"events": [], "extra": 1}', "body: unknown keys ['extra']"),
        (b"[" * 100_000, "body: JSON nested too deeply"),
        (b'{"events": [{"value": ' + b"9" * 5000 + b"}]}", "body: not valid JSON"),
    ],
)
def test_malformed_body_is_refused_whole(body: bytes, expected: str) -> None:
    with pytest.raises(KpiContractError) as caught:
        parse_kpi_batch(body, max_events=10)
    assert str(caught.value).startswith(expected)


def test_batch_over_the_limit_is_refused_whole() -> None:
    body = _body([_record(event_id=str(i)) for i in range(4)])
    with pytest.raises(KpiContractError, match=r"events: 4 events in one request; the limit is 3"):
        parse_kpi_batch(body, max_events=3)
    events, rejections = parse_kpi_batch(body, max_events=4)
    assert (len(events), rejections) == (4, [])


# --- rows -------------------------------------------------------------------------------


def test_rows_follow_the_columns() -> None:
    event = kpi_event_from_record(_record(amount="5", currency="EUR", attributes={"a": "b"}))
    columns, rows = kpi_rows([event])
    assert columns == list(KPI_COLUMNS)
    row = dict(zip(columns, rows[0], strict=True))
    assert row["event_id"] == "e"
    assert row["amount"] == Decimal("5")
    assert row["currency"] == "EUR"
    assert row["entity_id"] == ""  # absent optional text is an empty string in the table
    assert row["attributes"] == {"a": "b"}
    assert row["schema_version"] == 1


# --- never a crash: random input only ever yields events or KpiContractError ----------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
_FIELD_NAMES = st.sampled_from([*KPI_COLUMNS, "colour"])
_ATTRIBUTE_NAMES = st.sampled_from(["event.id", "kpi.value", "kpi.amount", "kpi.currency",
                                    "schema_version", "tenant.id", "entity.id", "other"])  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_crash_the_batch_parser(body: bytes) -> None:
    try:
        events, rejections = parse_kpi_batch(body, max_events=10)
    except KpiContractError:
        return
    assert len(events) + len(rejections) <= 10


@settings(max_examples=150, deadline=None)
@given(st.lists(st.dictionaries(_FIELD_NAMES, _JSON, max_size=6), max_size=5))
def test_random_events_are_kept_or_rejected_one_by_one(items: list[dict[str, Any]]) -> None:
    body = json.dumps({"events": items}, allow_nan=True).encode()
    events, rejections = parse_kpi_batch(body, max_events=10)
    assert len(events) + len(rejections) == len(items)
    assert all(r.reason for r in rejections)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        _ATTRIBUTE_NAMES,
        _JSON | st.binary(max_size=8) | st.decimals(allow_nan=True),
        max_size=6,
    ),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
)
def test_random_log_attributes_never_crash(attributes: dict[str, object], ts_ns: int) -> None:
    try:
        event = kpi_event_from_log("kpi.x", attributes, timestamp_ns=ts_ns)
    except KpiContractError as exc:
        assert str(exc)
        return
    assert event.kpi == "x"
    columns, rows = kpi_rows([event])
    assert len(rows[0]) == len(columns)
