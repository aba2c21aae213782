"""The KPI event contract, schema version 1: one business moment, one ``business_events`` row.

KPI events arrive three ways, all validated by ``KpiEvent``:

- OTLP log records named ``kpi.<name>`` (``kpi_event_from_log``), attributes per
  docs/telemetry.md (``event.id``, ``kpi.value``, ``kpi.amount``, ``kpi.currency``, ...);
- ``POST /v1/kpi``: ``{"events": [...]}`` whose events use the model's FIELD names
  (``event_id``, ``ts``, ``kpi``, ...) exactly as the JSON Schema in models/contracts says
  (``parse_kpi_batch``);
- ``flowmeter import kpi`` files (CSV with the field names as header, or JSON Lines).

``event_id`` is the idempotency key: the store keeps one row per id, whatever is re-sent.
Money is ``Decimal`` (``amount``, at most 14 integer and 4 decimal digits), never float, and
always comes with an ISO 4217 ``currency``. A tenant known from the ingest token wins over
the tenant the payload claims.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from models.errors import KpiContractError
from models.iso4217 import CURRENCY_CODES

__all__ = [
    "KPI_COLUMNS",
    "KPI_PREFIX",
    "SCHEMA_VERSION",
    "WIRE_ATTRIBUTES",
    "KpiEvent",
    "KpiRejection",
    "is_kpi_event_name",
    "kpi_event_from_log",
    "kpi_event_from_record",
    "kpi_rows",
    "parse_kpi_batch",
]

SCHEMA_VERSION = 1
KPI_PREFIX = "kpi."

# OTel log attribute -> model field (docs/telemetry.md).
WIRE_ATTRIBUTES: Mapping[str, str] = {
    "event.id": "event_id",
    "kpi.value": "value",
    "kpi.amount": "amount",
    "kpi.currency": "currency",
    "entity.type": "entity_type",
    "entity.id": "entity_id",
    "correlation.id": "correlation_id",
    "tenant.id": "tenant_id",
    "product.line": "product_line",
    "workflow.name": "workflow",
    "schema_version": "schema_version",
}
_FIELD_TO_WIRE = {field: wire for wire, field in WIRE_ATTRIBUTES.items()}
_NOT_ATTRIBUTES = frozenset(WIRE_ATTRIBUTES) | {"event.name"}
_NUMERIC_WIRE = frozenset({"kpi.value", "kpi.amount", "schema_version"})

# business_events columns, in the order kpi_rows() fills them.
KPI_COLUMNS: tuple[str, ...] = (
    "event_id",
    "ts",
    "kpi",
    "value",
    "amount",
    "currency",
    "entity_type",
    "entity_id",
    "correlation_id",
    "trace_id",
    "workflow",
    "tenant_id",
    "product_line",
    "attributes",
    "schema_version",
)

# DateTime64(3) holds 1900-01-01 .. 2299-12-31.
_TS_MIN = datetime(1900, 1, 1, tzinfo=UTC)
_TS_MAX = datetime(2299, 12, 31, 23, 59, 59, tzinfo=UTC)
_SHOWN_INPUT = 60
_NUMBERS = (int, float, Decimal)


def _no_bool_number(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    return value


def _no_number_timestamp(value: Any) -> Any:
    # Bare numbers are ambiguous (seconds? milliseconds?): the contract wants RFC 3339.
    if isinstance(value, _NUMBERS) and not isinstance(value, bool):
        raise ValueError("expected an RFC 3339 date-time with a UTC offset, got a number")
    return value


def _kpi_name(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(KPI_PREFIX):
        return value[len(KPI_PREFIX) :]
    return value


_MONEY_STEP = Decimal("0.0001")
_MONEY_LIMIT = Decimal(10) ** 14


def _exact_money(amount: Decimal) -> Decimal:
    # Decimal(18, 4) in the table; checked with C-level Decimal ops (pydantic's
    # max_digits/decimal_places run in Python and cost half the validation time).
    if abs(amount) >= _MONEY_LIMIT:
        raise ValueError("at most 14 digits before the decimal point")
    if amount != amount.quantize(_MONEY_STEP):
        raise ValueError("at most 4 decimal places (money is never rounded)")
    return amount


Money = Annotated[
    Decimal,
    BeforeValidator(_no_bool_number),
    Field(allow_inf_nan=False),
    AfterValidator(_exact_money),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number"},
                {"type": "string", "pattern": r"^-?[0-9]{1,14}(\.[0-9]{1,4})?$"},
            ],
            "description": "Money: at most 14 integer and 4 decimal digits; send a string "
            "to keep it exact.",
        }
    ),
]
Currency = Annotated[str, WithJsonSchema({"type": "string", "enum": sorted(CURRENCY_CODES)})]
ShortText = Annotated[str, Field(max_length=128)]
IdText = Annotated[str, Field(max_length=256)]


class KpiEvent(BaseModel):
    """One KPI event, schema version 1 (maps column for column onto ``business_events``)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
        title="KpiEvent",
        json_schema_extra={
            "$comment": "Flowmeter KPI event contract; generated by python -m models.kpi_schema",
            # an amount (not null) needs a currency
            "if": {
                "properties": {"amount": {"type": ["number", "string"]}},
                "required": ["amount"],
            },
            "then": {"properties": {"currency": {"type": "string"}}, "required": ["currency"]},
        },
    )

    schema_version: Annotated[int, BeforeValidator(_no_bool_number)] = Field(
        default=SCHEMA_VERSION,
        ge=1,
        json_schema_extra={"maximum": SCHEMA_VERSION},
        description="Version of this contract the event was written against.",
    )
    event_id: str = Field(
        min_length=1,
        max_length=256,
        description="Idempotency key: re-sending the same event_id never counts twice.",
    )
    ts: Annotated[AwareDatetime, BeforeValidator(_no_number_timestamp)] = Field(
        description="When the business moment happened (RFC 3339 with a UTC offset)."
    )
    kpi: Annotated[str, BeforeValidator(_kpi_name)] = Field(
        pattern=r"^[a-z][a-z0-9_.-]{0,99}$",
        description="KPI name without the 'kpi.' prefix, e.g. order_advanced.",
    )
    value: Annotated[float, BeforeValidator(_no_bool_number)] = Field(
        default=1.0, description="How many units the event counts (1 for one occurrence)."
    )
    amount: Money | None = Field(default=None, description="Money involved, in currency.")
    currency: Currency | None = Field(
        default=None,
        validate_default=True,
        description="ISO 4217 code of amount; required when amount is set.",
    )
    entity_type: ShortText | None = Field(default=None, description="order, invoice, lead, ...")
    entity_id: IdText | None = Field(default=None, description="The business entity's id.")
    correlation_id: IdText | None = Field(
        default=None, description="Ties the event to its workflow run and spans."
    )
    trace_id: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{32}$", description="W3C trace id, 32 hex digits."
    )
    workflow: ShortText | None = Field(default=None, description="Workflow that caused it.")
    tenant_id: ShortText | None = Field(
        default=None, description="Tenant; the ingest token's tenant wins when tokens are used."
    )
    product_line: ShortText | None = Field(default=None, description="Product line.")
    attributes: dict[
        Annotated[str, Field(max_length=256)], Annotated[str, Field(max_length=4096)]
    ] = Field(
        default_factory=dict,
        max_length=128,
        description="Any further attributes, as strings.",
    )

    @field_validator("schema_version")
    @classmethod
    def _version_known(cls, version: int) -> int:
        if version > SCHEMA_VERSION:
            raise ValueError(
                f"version {version} is newer than this Flowmeter understands "
                f"({SCHEMA_VERSION}); send version {SCHEMA_VERSION} or upgrade Flowmeter"
            )
        return version

    @field_validator("ts")
    @classmethod
    def _ts_in_range(cls, ts: datetime) -> datetime:
        ts = ts.astimezone(UTC)
        if not _TS_MIN <= ts <= _TS_MAX:
            raise ValueError("must lie between 1900-01-01 and 2299-12-31")
        return ts

    @field_validator("currency")
    @classmethod
    def _currency_known(cls, currency: str | None, info: ValidationInfo) -> str | None:
        if currency is None:
            if info.data.get("amount") is not None:
                raise ValueError("required when an amount is set")
            return None
        if currency not in CURRENCY_CODES:
            raise ValueError("not an ISO 4217 currency code (three capital letters, e.g. EUR, USD)")
        return currency


@dataclass(frozen=True)
class KpiRejection:
    """One event of a batch that broke the contract: where it was, its id if known, why."""

    index: int
    event_id: str | None
    reason: str


# --- validation ------------------------------------------------------------------------


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_INPUT else text[: _SHOWN_INPUT - 3] + "..."


def _describe(error: ValidationError, *, wire_names: bool) -> str:
    """``field: problem (got ...)`` for each error, joined by '; '."""
    parts: list[str] = []
    for item in error.errors(include_url=False):
        loc = [str(part) for part in item["loc"]]
        if loc and wire_names:
            loc[0] = _FIELD_TO_WIRE.get(loc[0], loc[0])
        where = ".".join(loc) or "event"
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "missing":
            parts.append(f"{where}: required, missing")
        elif item["type"] == "extra_forbidden":
            parts.append(f"{where}: unknown field")
        elif item["input"] is None:
            parts.append(f"{where}: {message}")
        else:
            parts.append(f"{where}: {message} (got {_shown(item['input'])})")
    return "; ".join(parts)


def kpi_event_from_record(record: Mapping[str, Any], *, tenant: str | None = None) -> KpiEvent:
    """Validate one event given by field names; KpiContractError names what is wrong."""
    fields = dict(record)
    if tenant is not None:
        fields["tenant_id"] = tenant
    try:
        return KpiEvent.model_validate(fields)
    except ValidationError as exc:
        raise KpiContractError(_describe(exc, wire_names=False)) from None


def is_kpi_event_name(name: str) -> bool:
    """True for an OTel event name of the form ``kpi.<name>``."""
    return name.startswith(KPI_PREFIX) and len(name) > len(KPI_PREFIX)


def _attribute_text(value: object) -> str:
    """An attribute value as text, as the OTel Collector renders non-string values."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, separators=(",", ":"), default=str, ensure_ascii=False)
    return "" if value is None else str(value)


def _wire_number(value: object) -> object:
    # floats become Decimals through their shortest repr, so 12.34 stays 12.34
    if isinstance(value, float) and math.isfinite(value):
        return Decimal(repr(value))
    return value


def kpi_event_from_log(
    event_name: str,
    attributes: Mapping[str, object],
    *,
    timestamp_ns: int,
    trace_id: str = "",
    tenant: str | None = None,
) -> KpiEvent:
    """Map an OTLP log record named ``kpi.<name>`` onto the contract.

    ``timestamp_ns`` is the record's ``time_unix_nano`` (or its ``observed_time_unix_nano``
    when the former is 0); ``trace_id`` its hex trace id ("" when none); ``tenant`` the
    ingest token's tenant, which overrides any ``tenant.id`` attribute. Raises
    KpiContractError naming the attribute and the problem.
    """
    if not is_kpi_event_name(event_name):
        raise KpiContractError(
            f"event.name: {event_name!r} is not a KPI event name (expected kpi.<name>)"
        )
    if timestamp_ns <= 0:
        raise KpiContractError("ts: the log record has no timestamp (time_unix_nano is 0)")
    fields: dict[str, Any] = {
        "kpi": event_name[len(KPI_PREFIX) :],
        "ts": datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=timestamp_ns // 1000),
    }
    trace = trace_id.lower()
    if trace and trace.strip("0"):
        fields["trace_id"] = trace
    extra: dict[str, str] = {}
    for key, value in attributes.items():
        field = WIRE_ATTRIBUTES.get(key)
        if field is None:
            if key not in _NOT_ATTRIBUTES:
                extra[key] = _attribute_text(value)
        elif key in _NUMERIC_WIRE:
            if value is not None and value != "":
                # amounts from doubles keep their shortest repr; a version 1.0 stays a float
                fields[field] = value if key == "schema_version" else _wire_number(value)
        else:
            text = _attribute_text(value)
            if text:
                fields[field] = text
    if extra:
        fields["attributes"] = extra
    if tenant is not None:
        fields["tenant_id"] = tenant
    try:
        return KpiEvent.model_validate(fields)
    except ValidationError as exc:
        raise KpiContractError(_describe(exc, wire_names=True)) from None


def parse_kpi_batch(
    body: bytes, *, tenant: str | None = None, max_events: int
) -> tuple[list[KpiEvent], list[KpiRejection]]:
    """Parse a ``POST /v1/kpi`` body ``{"events": [...]}`` (events by FIELD names).

    Valid events are kept, each invalid one becomes a KpiRejection. A body that is not a
    JSON object with an ``events`` list, or holds more than ``max_events`` events, raises
    KpiContractError.
    """
    try:
        document = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise KpiContractError(f"body: not valid JSON ({exc})") from None
    except RecursionError:
        raise KpiContractError("body: JSON nested too deeply") from None
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise KpiContractError('body: expected a JSON object {"events": [...]}')
    unknown = sorted(set(document) - {"events"})
    if unknown:
        raise KpiContractError(f"body: unknown keys {unknown}; only 'events' is allowed")
    items: list[Any] = document["events"]
    if len(items) > max_events:
        raise KpiContractError(
            f"events: {len(items)} events in one request; the limit is {max_events}"
        )
    events: list[KpiEvent] = []
    rejections: list[KpiRejection] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            rejections.append(KpiRejection(index, None, "event: expected a JSON object"))
            continue
        event_id = item.get("event_id")
        try:
            events.append(kpi_event_from_record(item, tenant=tenant))
        except KpiContractError as exc:
            # an over-long (hence invalid) id is echoed shortened, never whole
            known_id = event_id[:256] if isinstance(event_id, str) and event_id else None
            rejections.append(KpiRejection(index, known_id, str(exc)))
    return events, rejections


def kpi_rows(events: Iterable[KpiEvent]) -> tuple[list[str], list[list[object]]]:
    """Column names and rows for an insert into ``business_events``."""
    rows: list[list[object]] = [
        [
            event.event_id,
            event.ts,
            event.kpi,
            event.value,
            event.amount,
            event.currency or "",
            event.entity_type or "",
            event.entity_id or "",
            event.correlation_id or "",
            event.trace_id or "",
            event.workflow or "",
            event.tenant_id or "",
            event.product_line or "",
            dict(event.attributes),
            event.schema_version,
        ]
        for event in events
    ]
    return list(KPI_COLUMNS), rows
