"""The backward-compatibility checker on hand-made old/new schemas."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.schema_compat import breaking_changes


def _object(properties: dict[str, Any], required: list[str], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, **extra}


OLD = _object(
    {
        "event_id": {"type": "string", "minLength": 1, "maxLength": 256},
        "value": {"type": "number", "default": 1.0},
        "status": {"type": "string", "enum": ["ok", "failed", "late"]},
        "note": {
            "anyOf": [{"type": "string", "maxLength": 100}, {"type": "null"}],
            "default": None,
        },
        "tags": {"type": "array", "items": {"type": "string"}},
        "ts": {"type": "string"},
    },
    ["event_id"],
    additionalProperties=False,
)


def _changed(edit: Any) -> dict[str, Any]:
    new = copy.deepcopy(OLD)
    edit(new)
    return new


def test_identical_schemas_are_compatible() -> None:
    assert breaking_changes(OLD, copy.deepcopy(OLD)) == []


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda s: s["properties"].pop("note"), ["note: field removed (or renamed)"]),
        (
            lambda s: s["properties"].__setitem__("count", s["properties"].pop("value")),
            ["value: field removed (or renamed)"],
        ),
        (
            lambda s: s["properties"]["value"].__setitem__("type", "integer"),
            ["value: type narrowed from ['number'] to ['integer']"],
        ),
        (
            lambda s: s["properties"]["ts"].__setitem__("format", "date-time"),
            ["ts: format added ('date-time')"],
        ),
        (
            lambda s: s["properties"]["ts"].__setitem__("pattern", "^[0-9]"),
            ["ts: pattern added ('^[0-9]')"],
        ),
        (
            lambda s: s["properties"]["status"].__setitem__("enum", ["ok", "failed"]),
            ["status: enum shrunk, no longer accepts ['late']"],
        ),
        (lambda s: s["required"].append("value"), ["value: optional field made required"]),
        (
            lambda s: s["properties"]["event_id"].__setitem__("maxLength", 64),
            ["event_id: maxLength lowered from 256 to 64"],
        ),
        (
            lambda s: s["properties"]["event_id"].__setitem__("minLength", 8),
            ["event_id: minLength raised from 1 to 8"],
        ),
        (
            lambda s: s["properties"]["tags"]["items"].__setitem__("type", "integer"),
            ["tags[]: type narrowed from ['string'] to ['integer']"],
        ),
        (
            lambda s: s["properties"]["value"].__setitem__("default", 0),
            ["value: default changed from 1.0 to 0"],
        ),
    ],
)
def test_each_kind_of_break_is_named(edit: Any, expected: list[str]) -> None:
    assert breaking_changes(OLD, _changed(edit)) == expected


def test_nullable_field_made_non_nullable_is_a_break() -> None:
    new = _changed(
        lambda s: s["properties"].__setitem__("note", {"type": "string", "default": None})
    )
    assert breaking_changes(OLD, new) == ["note: type narrowed from ['null'] to ['string']"]


def test_branch_dropped_from_a_union_is_a_break() -> None:
    old = {"anyOf": [{"type": "number"}, {"type": "string"}, {"type": "null"}]}
    new = {"anyOf": [{"type": "number"}, {"type": "null"}]}
    problems = breaking_changes(old, new)
    assert len(problems) == 1
    assert problems[0].startswith("(root): no longer accepts type string")


def test_type_list_and_any_of_are_the_same_union() -> None:
    listed = {"type": ["string", "null"], "maxLength": 5}
    spelled = {"anyOf": [{"type": "string", "maxLength": 5}, {"type": "null"}]}
    assert breaking_changes(listed, spelled) == []
    assert breaking_changes(spelled, listed) == []
    problems = breaking_changes(listed, {"type": "string", "maxLength": 5})
    assert problems == ["(root): type narrowed from ['null'] to ['string']"]


def test_new_required_field_is_a_break() -> None:
    new = _changed(
        lambda s: (s["properties"].__setitem__("x", {"type": "string"}), s["required"].append("x"))
    )
    assert breaking_changes(OLD, new) == ["x: new required field"]


def test_closing_additional_properties_is_a_break() -> None:
    old = _object({"a": {"type": "string"}}, [])
    new = _object({"a": {"type": "string"}}, [], additionalProperties=False)
    assert breaking_changes(old, new) == ["(root): additional properties no longer accepted"]


def test_constraining_a_field_that_open_schema_took_as_extra_is_a_break() -> None:
    old = _object({}, [], additionalProperties={"type": "string"})
    new = _object({"b": {"type": "integer"}}, [], additionalProperties={"type": "string"})
    assert breaking_changes(old, new) == ["b: type narrowed from ['string'] to ['integer']"]


def test_new_conditional_rule_is_reported_as_unprovable() -> None:
    new = _changed(lambda s: s.__setitem__("dependentRequired", {"note": ["status"]}))
    assert breaking_changes(OLD, new) == [
        "(root): 'dependentRequired' added or changed (cannot prove it accepts what it did)"
    ]


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s["properties"].__setitem__("channel", {"type": "string"}),  # optional field
        lambda s: s["properties"]["status"]["enum"].append("skipped"),  # enum grown
        lambda s: s["properties"]["event_id"].__setitem__("maxLength", 1024),  # bound relaxed
        lambda s: s["properties"]["event_id"].pop("minLength"),  # bound dropped
        lambda s: s["properties"]["value"].__setitem__("type", ["number", "string"]),  # wider
        lambda s: s["required"].clear(),  # required made optional
        lambda s: s["properties"]["ts"].__setitem__("description", "when"),  # annotation
        lambda s: s.pop("additionalProperties"),  # opened
        lambda s: s["properties"].__setitem__("note", {"default": None}),  # anything goes
    ],
)
def test_compatible_changes_pass(edit: Any) -> None:
    assert breaking_changes(OLD, _changed(edit)) == []


def test_integer_widened_to_number_is_compatible() -> None:
    old = _object({"n": {"type": "integer"}}, [])
    new = _object({"n": {"type": "number"}}, [])
    assert breaking_changes(old, new) == []
    assert breaking_changes(new, old) == ["n: type narrowed from ['number'] to ['integer']"]


def test_refs_are_followed_in_both_schemas() -> None:
    old = {
        "$defs": {"Money": {"type": "string", "pattern": "^[0-9]+$"}},
        "type": "object",
        "properties": {"amount": {"$ref": "#/$defs/Money"}},
    }
    same = {
        "type": "object",
        "properties": {"amount": {"type": "string", "pattern": "^[0-9]+$"}},
    }
    narrowed = copy.deepcopy(old)
    narrowed["$defs"]["Money"]["maxLength"] = 10
    assert breaking_changes(old, same) == []
    assert breaking_changes(old, narrowed) == ["amount: maxLength lowered from None to 10"]


# --- properties over generated object schemas ----------------------------------------------

_LEAF = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["string", "number", "integer", "boolean"])}),
    st.fixed_dictionaries(
        {"type": st.just("string")},
        optional={"maxLength": st.integers(1, 50), "format": st.just("date")},
    ),
    st.fixed_dictionaries(
        {"enum": st.lists(st.text(max_size=3), min_size=1, max_size=4, unique=True)}
    ),
    st.fixed_dictionaries({"anyOf": st.just([{"type": "string"}, {"type": "null"}])}),
)
_SCHEMAS = st.dictionaries(
    st.text("abcdef", min_size=1, max_size=4), _LEAF, min_size=1, max_size=6
).flatmap(
    lambda props: st.fixed_dictionaries(
        {
            "type": st.just("object"),
            "properties": st.just(props),
            "required": st.lists(st.sampled_from(sorted(props)), unique=True),
            "additionalProperties": st.booleans(),
        }
    )
)


@settings(max_examples=100, deadline=None)
@given(_SCHEMAS)
def test_a_schema_is_compatible_with_itself(schema: dict[str, Any]) -> None:
    assert breaking_changes(schema, copy.deepcopy(schema)) == []


@settings(max_examples=100, deadline=None)
@given(_SCHEMAS, _LEAF)
def test_adding_an_optional_field_to_a_closed_object_is_compatible(
    schema: dict[str, Any], leaf: dict[str, Any]
) -> None:
    schema["additionalProperties"] = False
    new = copy.deepcopy(schema)
    new["properties"]["zz_new"] = leaf
    assert breaking_changes(schema, new) == []


@settings(max_examples=100, deadline=None)
@given(_SCHEMAS, st.data())
def test_removing_any_field_is_a_break(schema: dict[str, Any], data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(schema["properties"])))
    new = copy.deepcopy(schema)
    del new["properties"][name]
    new["required"] = [r for r in new["required"] if r != name]
    assert f"{name}: field removed (or renamed)" in breaking_changes(schema, new)
