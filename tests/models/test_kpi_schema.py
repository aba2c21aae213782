"""The KPI contract's JSON Schema: committed, up to date, backward compatible, and true."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import Field

from models.errors import KpiContractError
from models.kpi import KpiEvent, kpi_event_from_record
from models.kpi_schema import (
    CURRENT_SCHEMA,
    contract_problems,
    kpi_json_schema,
    latest_published,
    main,
    publish,
    published_revisions,
    render,
)
from models.schema_compat import breaking_changes


def test_committed_schema_is_up_to_date_with_the_model() -> None:
    assert CURRENT_SCHEMA.read_text(encoding="utf-8") == render(kpi_json_schema()), (
        "run: python -m models.kpi_schema"
    )


def test_model_is_backward_compatible_with_the_latest_published_revision() -> None:
    latest = latest_published()
    assert latest is not None, "no published revision of the current schema version"
    revision, published = latest
    assert breaking_changes(published, kpi_json_schema()) == [], f"breaks v1.{revision}"


def test_check_command_passes_on_the_repository() -> None:
    assert contract_problems() == []
    assert main(["--check"]) == 0


def test_published_revisions_are_kept_and_numbered() -> None:
    revisions = published_revisions()
    assert revisions[0][:2] == (1, 0)
    assert [r for _, r, _ in revisions] == list(range(len(revisions)))


# --- the checker on the real model's schema layout ------------------------------------------


class _ValueNarrowed(KpiEvent):
    value: int = 1  # type: ignore[assignment]


class _EntityRequired(KpiEvent):
    entity_id: str = Field(max_length=256)  # type: ignore[assignment]


class _NewOptionalField(KpiEvent):
    channel: str | None = None


def _schema(model: type[KpiEvent]) -> dict[str, Any]:
    return model.model_json_schema(mode="validation")


def test_narrowing_a_model_field_is_caught() -> None:
    assert breaking_changes(kpi_json_schema(), _schema(_ValueNarrowed)) == [
        "value: type narrowed from ['number'] to ['integer']"
    ]


def test_making_a_model_field_required_is_caught() -> None:
    problems = breaking_changes(kpi_json_schema(), _schema(_EntityRequired))
    assert "entity_id: optional field made required" in problems
    assert "entity_id: default None removed" in problems


def test_removing_a_model_field_is_caught() -> None:
    current = kpi_json_schema()
    shrunk = json.loads(json.dumps(current))
    del shrunk["properties"]["product_line"]
    assert breaking_changes(current, shrunk) == ["product_line: field removed (or renamed)"]


def test_dropping_a_currency_code_is_caught() -> None:
    current = kpi_json_schema()
    shrunk = json.loads(json.dumps(current))
    shrunk["properties"]["currency"]["anyOf"][0]["enum"].remove("CHF")
    problems = breaking_changes(current, shrunk)
    assert len(problems) == 1
    assert "currency: no longer accepts type string" in problems[0]
    assert "['CHF']" in problems[0]


def test_adding_an_optional_model_field_is_compatible() -> None:
    assert breaking_changes(kpi_json_schema(), _schema(_NewOptionalField)) == []


# --- publishing -----------------------------------------------------------------------------


def test_publish_starts_at_revision_zero_and_skips_unchanged(tmp_path: Path) -> None:
    first = publish(tmp_path)
    assert first == tmp_path / "kpi_event.v1.0.schema.json"
    assert json.loads(first.read_text()) == kpi_json_schema()
    assert publish(tmp_path) is None
    assert [p.name for *_, p in published_revisions(tmp_path)] == ["kpi_event.v1.0.schema.json"]


def test_publish_adds_a_revision_for_a_compatible_change(tmp_path: Path) -> None:
    older = kpi_json_schema()
    del older["properties"]["product_line"]  # the current model added it: compatible
    (tmp_path / "kpi_event.v1.0.schema.json").write_text(render(older))
    assert publish(tmp_path) == tmp_path / "kpi_event.v1.1.schema.json"


def test_publish_refuses_a_breaking_change(tmp_path: Path) -> None:
    older = kpi_json_schema()
    older["properties"]["region"] = {"type": "string"}  # the current model "removed" it
    (tmp_path / "kpi_event.v1.3.schema.json").write_text(render(older))
    with pytest.raises(KpiContractError, match=r"breaks v1.3: region: field removed"):
        publish(tmp_path)
    assert len(published_revisions(tmp_path)) == 1


def test_stale_or_missing_schema_file_is_reported(tmp_path: Path) -> None:
    stale = tmp_path / "kpi_event.v1.schema.json"
    assert "is missing" in contract_problems(stale, tmp_path)[0]
    stale.write_text("{}\n")
    assert "is out of date with models/kpi.py" in contract_problems(stale, tmp_path)[0]


# --- the schema says what the model does ----------------------------------------------------


def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        kpi_json_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


GOOD = {"event_id": "e-1", "ts": "2026-11-25T10:00:00Z", "kpi": "order_advanced"}


@pytest.mark.parametrize(
    "event",
    [
        GOOD,
        {**GOOD, "amount": "12.50", "currency": "EUR", "value": 2},
        {**GOOD, "amount": 12.5, "currency": "USD", "attributes": {"channel": "web"}},
        {**GOOD, "entity_id": None, "trace_id": "0af7651916cd43dd8448eb211c80319c"},
    ],
)
def test_schema_and_model_both_accept(event: dict[str, Any]) -> None:
    assert list(_validator().iter_errors(event)) == []
    kpi_event_from_record(event)


@pytest.mark.parametrize(
    "event",
    [
        {**GOOD, "amount": "12.50"},  # no currency
        {**GOOD, "amount": "1.23456", "currency": "EUR"},
        {**GOOD, "currency": "eur"},
        {**GOOD, "kpi": "Order"},
        {**GOOD, "colour": "red"},
        {**GOOD, "schema_version": 2},
        {**GOOD, "attributes": {"n": 1}},
        {"ts": GOOD["ts"], "kpi": "x"},
    ],
)
def test_schema_and_model_both_reject(event: dict[str, Any]) -> None:
    assert list(_validator().iter_errors(event)) != []
    with pytest.raises(KpiContractError):
        kpi_event_from_record(event)
