"""Recognition rules and the KPI catalog: a TOML file that says how spans become runs and steps.

A rule matches spans on service, span name (glob or regex) and attributes, and extracts the
native dialect of docs/telemetry.md from them: workflow, step, attempt, outcome, entity,
correlation id, tenant and product line. ``kind = "run"`` makes the span itself a run;
``kind = "step"`` makes it a step of its trace's run (a Celery chain is one run);
``kind = "marker"`` names or settles its trace's run without being a step. Built-in
profiles (``models/profiles/*.toml``) are the same format. This module holds what a parsed
file is (pure matching and extraction); models/rules_file.py parses and validates files with
line-precise ``RulesError``s. The collector applies ``RuleSet.recognize`` to each span before it
is logged (collectors/recognition.py); see docs/adr/0009-recognition-rules.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "AGGREGATIONS",
    "DEFAULT_PROFILES",
    "DIRECTIONS",
    "KPI_SOURCES",
    "PROFILES",
    "RUN_OUTCOMES",
    "STEP_OUTCOMES",
    "Defaults",
    "Kpi",
    "Rule",
    "RuleSet",
    "SpanView",
    "Template",
]

_PLACEHOLDER = re.compile(r"\{(attr|resource|name|service|group)(?::([^{}]+))?\}")

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
