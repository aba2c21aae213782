"""Recognition rules and the KPI catalog: a TOML file that says how spans become runs and steps.

A rule matches spans on service, span name (glob or regex) and attributes, and extracts the
native dialect of docs/telemetry.md from them: workflow, step, attempt, outcome, entity,
correlation id, tenant and product line. ``kind = "run"`` makes the span itself a run;
``kind = "step"`` makes it a step of its trace's run (a Celery chain is one run);
``kind = "marker"`` names or settles its trace's run without being a step. Built-in
profiles (``models/profiles/*.toml``) are the same format. Parsing is pure: the collector
applies ``RuleSet.recognize`` to each span before it is logged (collectors/recognition.py).
Every error names the file and line (``RulesError``); see docs/adr/0009-recognition-rules.md.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from models.errors import RulesError

__all__ = [
    "PROFILES",
    "Kpi",
    "Rule",
    "RuleSet",
    "Template",
    "load_rules",
    "parse_rules",
    "profile_text",
]

# Built-in profiles, in the order they are tried after the file's own rules.
PROFILES = ("celery", "prefect", "temporal", "airflow", "http")
# On when a rules file names no profiles (http needs the routes you mean: opt in).
DEFAULT_PROFILES = ("celery", "prefect", "temporal", "airflow")

RUN_OUTCOMES = ("completed", "failed", "dead_lettered", "compensated", "waiting")
STEP_OUTCOMES = ("ok", "retry", "failed", "timeout", "circuit_open")
DIRECTIONS = ("up", "down")
# count: events (or runs); sum / avg: kpi.amount (with a currency) or kpi.value; per_hour:
# events per hour of the period; share: events / (events + events of `versus`), in %.
AGGREGATIONS = ("count", "sum", "avg", "per_hour", "share")
KPI_SOURCES = ("events", "runs")

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
_PLACEHOLDER = re.compile(r"\{(attr|resource|name|service|group)(?::([^{}]+))?\}")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True)
class Template:
    """A value made of literal text and placeholders ({attr:k}, {resource:k}, {name}, {service}, {group:n})."""

    text: str
    parts: tuple[tuple[str, str], ...]  # (source, key); source "" = literal text in key

    @classmethod
    def compile(cls, text: str) -> Template:
        """Parse ``text``; raise ValueError naming a bad placeholder."""
        parts: list[tuple[str, str]] = []
        pos = 0
        for m in _PLACEHOLDER.finditer(text):
            if m.start() > pos:
                parts.append(("", text[pos : m.start()]))
            source, key = m.group(1), m.group(2) or ""
            if source in ("attr", "resource", "group") and not key:
                raise ValueError(f"placeholder {{{source}}} needs a key, e.g. {{{source}:x}}")
            if source == "group" and not key.isdigit():
                raise ValueError(f"{{group:{key}}}: the group is a number")
            parts.append((source, key))
            pos = m.end()
        rest = text[pos:]
        if "{" in rest or "}" in rest:
            raise ValueError(f"{text!r} has a brace that is not a placeholder")
        if rest:
            parts.append(("", rest))
        return cls(text, tuple(parts))

    def render(self, span: SpanView, groups: Sequence[str]) -> str:
        """The value for one span; empty when any placeholder is empty."""
        out: list[str] = []
        for source, key in self.parts:
            if source == "":
                value = key
            elif source == "attr":
                value = span.attributes.get(key, "")
            elif source == "resource":
                value = span.resource.get(key, "")
            elif source == "name":
                value = span.name
            elif source == "service":
                value = span.service
            else:
                index = int(key)
                value = groups[index] if index < len(groups) else ""
            if value == "":
                return ""
            out.append(value)
        return "".join(out)


@dataclass(frozen=True)
class SpanView:
    """What a rule sees of one span: service, name, status, attributes as text."""

    service: str
    name: str
    error: bool
    attributes: Mapping[str, str]
    resource: Mapping[str, str] = field(default_factory=dict)
    events: tuple[str, ...] = ()  # span event names, in order


def _first(templates: Sequence[Template], span: SpanView, groups: Sequence[str]) -> str:
    for template in templates:
        value = template.render(span, groups)
        if value:
            return value
    return ""


@dataclass(frozen=True)
class Defaults:
    """Extractions every rule falls back to (entities, correlation, tenant, product line)."""

    entities: tuple[tuple[str, str], ...] = ()
    correlation: tuple[Template, ...] = ()
    tenant: tuple[Template, ...] = ()
    product_line: tuple[Template, ...] = ()


@dataclass(frozen=True)
class Rule:
    """One recognition rule: what it matches and what it extracts."""

    name: str
    source: str  # the profile that ships it, or "rules" for the user's file
    kind: str  # "run", "step" or "marker" (names / settles its trace's run, is no step)
    service: re.Pattern[str] | None = None
    span: re.Pattern[str] | None = None
    attributes: tuple[tuple[str, re.Pattern[str] | None], ...] = ()  # None: must be present
    workflow: tuple[Template, ...] = ()
    step: tuple[Template, ...] = ()
    attempt: tuple[Template, ...] = ()
    attempt_key: tuple[Template, ...] = ()  # attempts sharing a key: all but one are retries
    retries: tuple[Template, ...] = ()
    retry_event: str = ""  # a span event that marks one retry (Prefect: Retrying)
    failure_event: str = ""  # a span event that means failed (Temporal: exception)
    outcome_attribute: str = ""
    outcome_map: Mapping[str, str] = field(default_factory=dict)
    defaults: Defaults = Defaults()

    def match(self, span: SpanView) -> tuple[str, ...] | None:
        """The span-name regex groups when this rule matches ``span``, else None."""
        if self.service is not None and not self.service.match(span.service):
            return None
        groups: tuple[str, ...] = ()
        if self.span is not None:
            m = self.span.match(span.name)
            if m is None:
                return None
            groups = (m.group(0), *(g or "" for g in m.groups()))
        for key, pattern in self.attributes:
            value = span.attributes.get(key)
            if value is None or (pattern is not None and not pattern.match(value)):
                return None
        return groups

    def extract(self, span: SpanView, groups: Sequence[str]) -> dict[str, str]:
        """Native-dialect attributes for a matched span (only non-empty values)."""
        found = {"flowmeter.kind": self.kind, "flowmeter.source": self.source}
        found["workflow.name"] = _first(self.workflow, span, groups)
        outcome = self._outcome(span)
        if self.kind == "step":
            found["step.name"] = _first(self.step, span, groups)
            found["step.attempt"] = self._attempt(span, groups)
            found["step.outcome"] = {"completed": "ok"}.get(outcome, outcome)
            retries = span.events.count(self.retry_event) if self.retry_event else 0
            retries += found["step.outcome"] == "retry"
            found["flowmeter.retries"] = str(retries) if retries else ""
            found["flowmeter.attempt_key"] = _first(self.attempt_key, span, groups)
        else:
            found["run.outcome"] = {"ok": "completed", "retry": "failed"}.get(outcome, outcome)
        for key, entity_type in self.defaults.entities:
            if span.attributes.get(key):
                found["entity.type"], found["entity.id"] = entity_type, span.attributes[key]
                break
        found["correlation.id"] = _first(self.defaults.correlation, span, groups)
        found["tenant.id"] = _first(self.defaults.tenant, span, groups)
        found["product.line"] = _first(self.defaults.product_line, span, groups)
        return {key: value for key, value in found.items() if value}

    def _outcome(self, span: SpanView) -> str:
        if self.failure_event and self.failure_event in span.events:
            return "failed"
        if self.outcome_attribute:
            mapped = self.outcome_map.get(span.attributes.get(self.outcome_attribute, ""))
            if mapped:
                return mapped
        return "failed" if span.error else "ok"

    def _attempt(self, span: SpanView, groups: Sequence[str]) -> str:
        attempt = _first(self.attempt, span, groups)
        if attempt.isdigit():
            return attempt
        retries = _first(self.retries, span, groups)
        return str(int(retries) + 1) if retries.isdigit() else "1"


@dataclass(frozen=True)
class Kpi:
    """One catalog KPI: how it reads, which way is good, where its numbers come from."""

    name: str
    label: str
    unit: str = ""
    currency: str = ""
    direction: str = "up"
    aggregation: str = "count"
    target: float | None = None
    source: str = "events"  # "events": KPI events named `kpi`; "runs": runs of `workflow`
    kpi: str = ""
    versus: str = ""  # for share: the KPI event that counts against (sla_met vs sla_missed)
    workflow: str = ""
    outcome: str = "completed"
    tile: bool = True  # shown among the Executive page's outcome tiles


@dataclass(frozen=True)
class RuleSet:
    """The user's rules, then the enabled profiles' rules, and the KPI catalog."""

    rules: tuple[Rule, ...] = ()
    kpis: tuple[Kpi, ...] = ()
    profiles: tuple[str, ...] = ()

    def recognize(self, span: SpanView) -> dict[str, str] | None:
        """Native attributes for ``span`` from the first rule that matches, or None."""
        for rule in self.rules:
            groups = rule.match(span)
            if groups is not None:
                return rule.extract(span, groups)
        return None

    @property
    def markers(self) -> tuple[bytes, ...] | None:
        """Byte strings of which a request must hold one for any rule to match (None: no such
        set): an attribute key a rule requires, else the literal start of its span pattern."""
        found = []
        for rule in self.rules:
            literal = rule.attributes[0][0] if rule.attributes else _literal_prefix(rule.span)
            if not literal:
                return None
            found.append(literal.encode())
        return tuple(dict.fromkeys(found))

    def kpi(self, name: str) -> Kpi | None:
        """The catalog entry called ``name``."""
        return next((k for k in self.kpis if k.name == name), None)


def _literal_prefix(pattern: re.Pattern[str] | None) -> str:
    """The text every match of an anchored pattern starts with ('' when unknown)."""
    if pattern is None:
        return ""
    source = pattern.pattern.removeprefix("(?s:").removeprefix("^")
    literal = re.match(r"[\w /:.-]*", source)
    text = literal.group(0) if literal else ""
    # a quantifier after the last literal character makes that character optional
    return text[:-1] if text and source[len(text) : len(text) + 1] in ("*", "?", "{") else text


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
