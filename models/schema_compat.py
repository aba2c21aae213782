"""Backward compatibility between two JSON Schemas (pure; no I/O).

``new`` is backward compatible with ``old`` when every document ``old`` accepts, ``new``
accepts too, and means the same: producers written against the old contract keep working.
``breaking_changes`` lists every way ``new`` falls short, each naming the field:

- a field removed (a rename shows as a removal), a field added as required, an optional
  field made required;
- a type narrowed (number -> integer, a type or null dropped from a union), an enum or
  const shrunk, a format or pattern added or changed, a bound tightened (min/max length,
  minimum/maximum, items, properties), additional properties closed;
- a default changed (a producer that omits the field would get another value);
- a conditional keyword (if/then/else, allOf, not, dependentRequired, ...) added or
  changed: its effect cannot be proved harmless, so it is reported.

The check is conservative: when it cannot prove a change is safe it reports it. ``$ref``
to ``#/$defs/...`` (pydantic's layout) is followed in both schemas.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["breaking_changes"]

_ANNOTATIONS = frozenset(
    {"title", "description", "default", "examples", "$comment", "$schema", "$id", "$defs",
     "deprecated", "readOnly", "writeOnly"}
)  # fmt: skip
_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_OPAQUE = (
    "if", "then", "else", "allOf", "not", "dependentRequired", "dependentSchemas",
    "patternProperties", "prefixItems", "contains", "unevaluatedProperties",
    "unevaluatedItems",
)  # fmt: skip
_ANY: dict[str, Any] = {}
_NUMERIC = frozenset({"number", "integer"})
# Keywords that only constrain values of these types (others pass them untouched).
_KEYWORD_TYPES: dict[str, frozenset[str]] = {
    **dict.fromkeys(("format", "pattern", "minLength", "maxLength"), frozenset({"string"})),
    **dict.fromkeys(
        ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf"), _NUMERIC
    ),
    **dict.fromkeys(("minItems", "maxItems", "uniqueItems"), frozenset({"array"})),
    **dict.fromkeys(("minProperties", "maxProperties"), frozenset({"object"})),
}


def breaking_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Every way ``new`` accepts less than (or differently from) ``old``; [] if compatible."""
    return _Comparison(old, new).compare(old, new, "")


def _key(value: Any) -> str:
    """A comparable form of a JSON value (JSON Schema holds 1 and 1.0 equal)."""
    return json.dumps(_numbers_as_float(value), sort_keys=True)


def _numbers_as_float(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): _numbers_as_float(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_numbers_as_float(v) for v in value]
    return value


def _where(path: str) -> str:
    return path or "(root)"


def _is_any(schema: Any) -> bool:
    if schema is True:
        return True
    return isinstance(schema, Mapping) and not (set(schema) - _ANNOTATIONS)


class _Comparison:
    def __init__(self, old_root: Mapping[str, Any], new_root: Mapping[str, Any]) -> None:
        self.old_root = old_root
        self.new_root = new_root
        self._seen: set[tuple[int, int]] = set()

    # --- plumbing ------------------------------------------------------------------------
    @staticmethod
    def _resolve(root: Mapping[str, Any], schema: Any) -> Any:
        hops = 0
        while isinstance(schema, Mapping) and "$ref" in schema:
            ref = str(schema["$ref"])
            if not ref.startswith("#/") or hops > 32:
                raise ValueError(f"unsupported $ref {ref!r}")
            target: Any = root
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            extra = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **extra} if extra else target
            hops += 1
        return schema

    def _branches(self, root: Mapping[str, Any], schema: Any) -> list[Any]:
        """A schema as a list of alternatives (anyOf/oneOf flattened)."""
        schema = self._resolve(root, schema)
        if not isinstance(schema, Mapping):
            return [schema]
        for union in ("anyOf", "oneOf"):
            if union in schema and not (set(schema) - _ANNOTATIONS - {union}):
                out: list[Any] = []
                for option in schema[union]:
                    out.extend(self._branches(root, option))
                return out
        declared = schema.get("type")
        if isinstance(declared, list) and len(declared) > 1:
            # {"type": [a, b], ...} is anyOf [{"type": a, ...}, {"type": b, ...}]
            return [{**schema, "type": kind} for kind in declared]
        return [schema]

    # --- comparison ----------------------------------------------------------------------
    def compare(self, old: Any, new: Any, path: str) -> list[str]:
        old_options = self._branches(self.old_root, old)
        new_options = self._branches(self.new_root, new)
        if any(_is_any(option) for option in new_options):
            return []
        problems: list[str] = []
        for option in old_options:
            if option is False:
                continue
            attempts = [self._compare_one(option, candidate, path) for candidate in new_options]
            if any(not attempt for attempt in attempts):
                continue
            if len(new_options) == 1:
                problems.extend(attempts[0])
            else:
                closest = min(attempts, key=len)
                problems.append(
                    f"{_where(path)}: no longer accepts {self._label(option)} "
                    f"({'; '.join(closest)})"
                )
        return problems

    @staticmethod
    def _label(schema: Any) -> str:
        if isinstance(schema, Mapping):
            if "type" in schema:
                return f"type {schema['type']}"
            if "enum" in schema or "const" in schema:
                return "the values it listed"
        return "what it accepted"

    def _compare_one(self, old: Any, new: Any, path: str) -> list[str]:
        where = _where(path)
        if new is True or _is_any(new):
            return []
        if new is False:
            return [f"{where}: accepts nothing any more"]
        if old is True or _is_any(old):
            return [f"{where}: accepted anything, now constrained"]
        pair = (id(old), id(new))
        if pair in self._seen:  # recursive schemas: assume the cycle agrees with itself
            return []
        self._seen.add(pair)
        kinds = self._type_set(old)
        try:
            return [
                *self._types(old, new, where),
                *self._values(old, new, where),
                *self._strings(old, new, where, kinds),
                *self._bounds(old, new, where, kinds),
                *self._opaque(old, new, where),
                *(self._object(old, new, path) if _may_be(kinds, "object") else []),
                *(self._array(old, new, path) if _may_be(kinds, "array") else []),
            ]
        finally:
            self._seen.discard(pair)

    @staticmethod
    def _type_set(schema: Mapping[str, Any]) -> set[str] | None:
        declared = schema.get("type")
        if declared is None:
            return None
        return {declared} if isinstance(declared, str) else set(declared)

    def _types(self, old: Mapping[str, Any], new: Mapping[str, Any], where: str) -> list[str]:
        new_types = self._type_set(new)
        if new_types is None:
            return []
        old_types = self._type_set(old)
        if old_types is None:
            if "enum" in old or "const" in old:
                return []  # checked value by value in _values
            return [f"{where}: any type accepted before, now only {sorted(new_types)}"]
        lost = sorted(
            t
            for t in old_types
            if t not in new_types and not (t == "integer" and "number" in new_types)
        )
        if lost:
            return [f"{where}: type narrowed from {sorted(old_types)} to {sorted(new_types)}"]
        return []

    @staticmethod
    def _value_set(schema: Mapping[str, Any]) -> list[Any] | None:
        if "const" in schema:
            return [schema["const"]]
        if "enum" in schema:
            return list(schema["enum"])
        return None

    def _values(self, old: Mapping[str, Any], new: Mapping[str, Any], where: str) -> list[str]:
        new_values = self._value_set(new)
        old_values = self._value_set(old)
        if new_values is None:
            if old_values is not None and "type" in new:
                return self._values_fit_type(old_values, new, where)
            return []
        if old_values is None:
            return [f"{where}: restricted to the values {new_values}"]
        kept = {_key(v) for v in new_values}
        lost = [v for v in old_values if _key(v) not in kept]
        return [f"{where}: enum shrunk, no longer accepts {lost}"] if lost else []

    def _values_fit_type(self, values: list[Any], new: Mapping[str, Any], where: str) -> list[str]:
        names = {bool: "boolean", str: "string", int: "integer", float: "number"}
        new_types = self._type_set(new) or set()
        lost = []
        for value in values:
            kind = "null" if value is None else names.get(type(value), "object")
            if kind not in new_types and not (kind == "integer" and "number" in new_types):
                lost.append(value)
        return [f"{where}: type narrowed, no longer accepts {lost}"] if lost else []

    @staticmethod
    def _strings(
        old: Mapping[str, Any], new: Mapping[str, Any], where: str, kinds: set[str] | None
    ) -> list[str]:
        problems = []
        for keyword in ("format", "pattern", "multipleOf"):
            if not _applies(keyword, kinds):
                continue
            if keyword in new and new[keyword] != old.get(keyword):
                change = "changed" if keyword in old else "added"
                problems.append(f"{where}: {keyword} {change} ({new[keyword]!r})")
        if new.get("uniqueItems") and not old.get("uniqueItems") and _applies("uniqueItems", kinds):
            problems.append(f"{where}: uniqueItems added")
        return problems

    @staticmethod
    def _bounds(
        old: Mapping[str, Any], new: Mapping[str, Any], where: str, kinds: set[str] | None
    ) -> list[str]:
        problems = []
        for keyword in _LOWER_BOUNDS:
            if not _applies(keyword, kinds):
                continue
            if keyword in new and (keyword not in old or new[keyword] > old[keyword]):
                problems.append(
                    f"{where}: {keyword} raised from {old.get(keyword)} to {new[keyword]}"
                )
        for keyword in _UPPER_BOUNDS:
            if not _applies(keyword, kinds):
                continue
            if keyword in new and (keyword not in old or new[keyword] < old[keyword]):
                problems.append(
                    f"{where}: {keyword} lowered from {old.get(keyword)} to {new[keyword]}"
                )
        return problems

    @staticmethod
    def _opaque(old: Mapping[str, Any], new: Mapping[str, Any], where: str) -> list[str]:
        return [
            f"{where}: '{keyword}' added or changed (cannot prove it accepts what it did)"
            for keyword in _OPAQUE
            if keyword in new and _key(new[keyword]) != _key(old.get(keyword))
        ]

    def _object(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> list[str]:
        prefix = f"{path}." if path else ""
        old_props: Mapping[str, Any] = old.get("properties", {})
        new_props: Mapping[str, Any] = new.get("properties", {})
        old_extra = old.get("additionalProperties", True)
        new_extra = new.get("additionalProperties", True)
        problems: list[str] = []
        for name, old_prop in old_props.items():
            if name not in new_props:
                problems.append(f"{prefix}{name}: field removed (or renamed)")
                continue
            problems.extend(self.compare(old_prop, new_props[name], prefix + name))
            problems.extend(self._default(old_prop, new_props[name], prefix + name))
        for name, new_prop in new_props.items():
            if name not in old_props and old_extra is not False:
                # the old schema took this field as an additional property
                problems.extend(self.compare(_extra(old_extra), new_prop, prefix + name))
        for name in sorted(set(new.get("required", ())) - set(old.get("required", ()))):
            kind = "optional field made required" if name in old_props else "new required field"
            problems.append(f"{prefix}{name}: {kind}")
        if new_extra is False and old_extra is not False:
            problems.append(f"{_where(path)}: additional properties no longer accepted")
        elif old_extra is not False:
            problems.extend(self.compare(_extra(old_extra), _extra(new_extra), prefix + "*"))
        if "propertyNames" in new:
            problems.extend(
                self.compare(
                    old.get("propertyNames", _ANY), new["propertyNames"], prefix + "(keys)"
                )
            )
        return problems

    def _default(self, old: Any, new: Any, path: str) -> list[str]:
        old = self._resolve(self.old_root, old)
        new = self._resolve(self.new_root, new)
        if not isinstance(old, Mapping) or "default" not in old:
            return []
        if not isinstance(new, Mapping) or "default" not in new:
            return [f"{path}: default {old['default']!r} removed"]
        if _key(old["default"]) != _key(new["default"]):
            return [f"{path}: default changed from {old['default']!r} to {new['default']!r}"]
        return []

    def _array(self, old: Mapping[str, Any], new: Mapping[str, Any], path: str) -> list[str]:
        if "items" not in new:
            return []
        return self.compare(old.get("items", _ANY), new["items"], f"{path}[]")


def _extra(value: Any) -> Any:
    """additionalProperties as a schema (absent or true: anything)."""
    return _ANY if value is True else value


def _may_be(kinds: set[str] | None, kind: str) -> bool:
    """Whether values of the old schema can be of ``kind`` (None: any type)."""
    return kinds is None or kind in kinds or (kind == "number" and "integer" in kinds)


def _applies(keyword: str, kinds: set[str] | None) -> bool:
    """Whether ``keyword`` constrains any value the old schema accepts."""
    types = _KEYWORD_TYPES.get(keyword)
    return types is None or kinds is None or bool(types & kinds)
