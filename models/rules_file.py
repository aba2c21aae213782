"""Parsing and validating a recognition rules / KPI catalog file (models/rules.py is what it
describes). Every error names the file and line: ``rules.toml:12: rule 2 ('etl'): ...``.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from models.errors import RulesError
from models.rules import (
    AGGREGATIONS,
    DEFAULT_PROFILES,
    DIRECTIONS,
    KPI_SOURCES,
    PROFILES,
    RUN_OUTCOMES,
    STEP_OUTCOMES,
    Defaults,
    Kpi,
    Rule,
    RuleSet,
    Template,
)

__all__ = ["load_rules", "parse_rules", "profile_text"]

_RULE_KEYS = {
    "name", "service", "span", "span_regex", "attributes", "kind", "workflow", "step",
    "attempt", "attempt_key", "retries", "retry_event", "failure_event", "outcome_attribute", "outcome_map", "entities", "correlation",
    "tenant", "product_line",
}  # fmt: skip
_DEFAULT_KEYS = {"entities", "correlation", "tenant", "product_line"}
_KPI_KEYS = {
    "name", "label", "unit", "currency", "direction", "aggregation", "target", "from",
    "kpi", "versus", "workflow", "outcome", "tile",
}  # fmt: skip
_TOP_KEYS = {"version", "profiles", "defaults", "rule", "kpi"}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


# --- parsing ---------------------------------------------------------------------------------
class _Lines:
    """Where tables and keys sit in the source, so errors can name a line."""

    def __init__(self, text: str, origin: str) -> None:
        self.lines = text.splitlines()
        self.origin = origin

    def header(self, table: str, index: int) -> int:
        pattern = re.compile(rf"^\s*\[\[\s*{table}\s*\]\]")
        hits = [n for n, line in enumerate(self.lines, 1) if pattern.match(line)]
        return hits[index] if index < len(hits) else 1

    def key(self, table: str, index: int, key: str) -> int:
        start = self.header(table, index) if table else 1
        pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
        for n in range(start, len(self.lines) + 1):
            if n > start and table and re.match(r"^\s*\[", self.lines[n - 1]):
                break
            if pattern.match(self.lines[n - 1]):
                return n
        return start

    def error(self, line: int, message: str) -> RulesError:
        return RulesError(f"{self.origin}:{line}: {message}")


def _templates(value: Any, where: str) -> tuple[Template, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{where} is a string or a list of strings (fallbacks)")
    return tuple(Template.compile(v) for v in values)


def _glob(value: Any, where: str) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where} is a non-empty glob string")
    return re.compile(fnmatch.translate(value))


def _defaults(raw: Any, where: str) -> Defaults:
    if not isinstance(raw, dict):
        raise ValueError(f"{where} is a table")
    unknown = set(raw) - _DEFAULT_KEYS
    if unknown:
        raise ValueError(f"unknown key {sorted(unknown)[0]!r} in {where}")
    entities = raw.get("entities", {})
    if not isinstance(entities, dict) or not all(
        isinstance(v, str) and v for v in entities.values()
    ):
        raise ValueError(
            "entities maps an attribute to an entity type, e.g. {'invoice.id' = 'invoice'}"
        )
    return Defaults(
        entities=tuple(entities.items()),
        correlation=_templates(raw["correlation"], "correlation") if "correlation" in raw else (),
        tenant=_templates(raw["tenant"], "tenant") if "tenant" in raw else (),
        product_line=(
            _templates(raw["product_line"], "product_line") if "product_line" in raw else ()
        ),
    )


def _merge(own: Defaults, fallback: Defaults) -> Defaults:
    return Defaults(
        entities=own.entities + fallback.entities,
        correlation=own.correlation + fallback.correlation,
        tenant=own.tenant + fallback.tenant,
        product_line=own.product_line + fallback.product_line,
    )


def _rule(raw: dict[str, Any], source: str, defaults: Defaults, index: int, at: _Lines) -> Rule:
    def fail(key: str, message: str) -> RulesError:
        label = f"rule {index + 1}" + (
            f" ({raw['name']!r})" if isinstance(raw.get("name"), str) else ""
        )
        return at.error(at.key("rule", index, key) if key else at.header("rule", index),
                        f"{label}: {message}")  # fmt: skip

    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise fail(
            unknown[0], f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_RULE_KEYS))})"
        )
    if not isinstance(raw.get("name"), str) or not raw["name"]:
        raise fail("", "every rule needs a name")
    if raw.get("kind", "step") not in ("run", "step", "marker"):
        raise fail("kind", f"kind is 'run', 'step' or 'marker', not {raw['kind']!r}")
    if "span" in raw and "span_regex" in raw:
        raise fail("span_regex", "give span (a glob) or span_regex, not both")
    if not any(k in raw for k in ("service", "span", "span_regex", "attributes")):
        raise fail("", "a rule needs something to match: service, span, span_regex or attributes")
    key = ""
    try:
        key = "service"
        service = _glob(raw["service"], "service") if "service" in raw else None
        key = "span"
        span = _glob(raw["span"], "span") if "span" in raw else None
        key = "span_regex"
        if "span_regex" in raw:
            if not isinstance(raw["span_regex"], str):
                raise ValueError("span_regex is a string")
            try:
                span = re.compile(raw["span_regex"])
            except re.error as exc:
                raise ValueError(f"span_regex {raw['span_regex']!r}: {exc}") from None
        key = "attributes"
        attrs = raw.get("attributes", {})
        if not isinstance(attrs, dict) or not all(isinstance(v, str) for v in attrs.values()):
            raise ValueError("attributes maps a key to a value glob ('*' = present)")
        attributes = tuple(
            (k, None if v == "*" else re.compile(fnmatch.translate(v))) for k, v in attrs.items()
        )
        templates: dict[str, tuple[Template, ...]] = {}
        for key in ("workflow", "step", "attempt", "attempt_key", "retries"):
            if key in raw:
                templates[key] = _templates(raw[key], key)
        key = "outcome_map"
        outcome_map = raw.get("outcome_map", {})
        allowed = tuple(dict.fromkeys(RUN_OUTCOMES + STEP_OUTCOMES))
        if not isinstance(outcome_map, dict) or any(v not in allowed for v in outcome_map.values()):
            raise ValueError(f"outcome_map values are among {', '.join(allowed)}")
        for key in ("outcome_attribute", "retry_event", "failure_event"):
            if not isinstance(raw.get(key, ""), str):
                raise ValueError(f"{key} is a string")
        key = "entities"
        own = _defaults({k: raw[k] for k in _DEFAULT_KEYS if k in raw}, "the rule")
    except ValueError as exc:
        raise fail(key, str(exc)) from None
    kind = raw.get("kind", "step")
    if "workflow" not in templates:
        raise fail("", "a rule needs a workflow (a name or placeholders such as {attr:key})")
    if kind == "step" and "step" not in templates:
        raise fail("", "a step rule needs a step (e.g. step = '{name}')")
    return Rule(
        name=raw["name"], source=source, kind=kind, service=service, span=span,
        attributes=attributes, workflow=templates["workflow"], step=templates.get("step", ()),
        attempt=templates.get("attempt", ()), attempt_key=templates.get("attempt_key", ()),
        retries=templates.get("retries", ()),
        retry_event=raw.get("retry_event", ""), failure_event=raw.get("failure_event", ""),
        outcome_attribute=raw.get("outcome_attribute", ""), outcome_map=dict(outcome_map),
        defaults=_merge(own, defaults),
    )  # fmt: skip


def _kpi(raw: dict[str, Any], index: int, at: _Lines) -> Kpi:
    def fail(key: str, message: str) -> RulesError:
        line = at.key("kpi", index, key) if key else at.header("kpi", index)
        return at.error(line, f"kpi {index + 1}: {message}")

    unknown = sorted(set(raw) - _KPI_KEYS)
    if unknown:
        raise fail(
            unknown[0], f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_KPI_KEYS))})"
        )
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise fail("name", "name is lower-case letters, digits and '_' (e.g. invoices_posted)")
    checks = (("direction", DIRECTIONS), ("aggregation", AGGREGATIONS), ("from", KPI_SOURCES))
    for key, allowed in checks:
        if key in raw and raw[key] not in allowed:
            raise fail(key, f"{key} is one of {', '.join(allowed)}, not {raw[key]!r}")
    for key in ("label", "unit", "currency", "kpi", "versus", "workflow", "outcome"):
        if key in raw and not isinstance(raw[key], str):
            raise fail(key, f"{key} is a string")
    currency = raw.get("currency", "")
    if currency and not re.fullmatch(r"[A-Z]{3}", currency):
        raise fail("currency", f"currency is an ISO 4217 code such as EUR, not {currency!r}")
    target = raw.get("target")
    if target is not None and (isinstance(target, bool) or not isinstance(target, int | float)):
        raise fail("target", "target is a number")
    source = raw.get("from", "events")
    if source == "runs" and not raw.get("workflow"):
        raise fail("", "a KPI from runs names its workflow")
    if raw.get("aggregation") == "share" and not raw.get("versus"):
        raise fail("aggregation", "a share names the KPI it is measured against: versus = ...")
    if raw.get("outcome", "completed") not in RUN_OUTCOMES:
        raise fail("outcome", f"outcome is one of {', '.join(RUN_OUTCOMES)}")
    return Kpi(
        name=name, label=raw.get("label") or name.replace("_", " ").capitalize(),
        unit=raw.get("unit", ""), currency=currency, direction=raw.get("direction", "up"),
        aggregation=raw.get("aggregation", "count"),
        target=None if target is None else float(target), source=source,
        kpi=raw.get("kpi", name) if source == "events" else "", versus=raw.get("versus", ""),
        workflow=raw.get("workflow", ""),
        outcome=raw.get("outcome", "completed"), tile=bool(raw.get("tile", True)),
    )  # fmt: skip


def _tables(raw: dict[str, Any], key: str, at: _Lines) -> list[dict[str, Any]]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise at.error(at.key("", 0, key), f"{key} is an array of tables: write [[{key}]]")
    return value


def parse_rules(text: str, origin: str = "<rules>", *, source: str = "rules") -> RuleSet:
    """Parse and validate one rules file's text; raise RulesError naming origin and line."""
    at = _Lines(text, origin)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{origin}: not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise at.error(at.key("", 0, unknown[0]), f"unknown top-level key {unknown[0]!r}")
    if raw.get("version", 1) != 1:
        raise at.error(at.key("", 0, "version"), "version must be 1")
    profiles = raw.get("profiles", list(DEFAULT_PROFILES) if source == "rules" else [])
    if not isinstance(profiles, list) or any(p not in PROFILES for p in profiles):
        raise at.error(at.key("", 0, "profiles"), f"profiles are among {', '.join(PROFILES)}")
    try:
        defaults = _defaults(raw.get("defaults", {}), "[defaults]")
    except ValueError as exc:
        raise at.error(at.key("defaults", 0, "entities"), str(exc)) from None
    rules = [_rule(r, source, defaults, i, at) for i, r in enumerate(_tables(raw, "rule", at))]
    kpis = [_kpi(k, i, at) for i, k in enumerate(_tables(raw, "kpi", at))]
    names = [k.name for k in kpis]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise at.error(at.header("kpi", i), f"kpi {i + 1}: {name!r} is defined twice")
    for name in profiles:
        shipped = parse_rules(profile_text(name), f"profile {name}", source=name)
        rules.extend(
            Rule(**{**r.__dict__, "defaults": _merge(r.defaults, defaults)}) for r in shipped.rules
        )
    return RuleSet(tuple(rules), tuple(kpis), tuple(profiles))


def profile_text(name: str) -> str:
    """The TOML of a built-in profile."""
    if name not in PROFILES:
        raise RulesError(f"no built-in profile {name!r} (there are: {', '.join(PROFILES)})")
    return (resources.files("models") / "profiles" / f"{name}.toml").read_text("utf-8")


def load_rules(path: Path | None) -> RuleSet:
    """The rule set for a rules file (None: the default profiles and no KPI catalog)."""
    if path is None:
        return parse_rules("", "<default profiles>")
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}: cannot read the rules file: {exc}") from None
    return parse_rules(text, str(path))
