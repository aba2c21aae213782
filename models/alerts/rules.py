"""Alert rules as a TOML file: parsed once, validated with the line of every mistake.

[[rule]]
name = "dead letters piling up"        # the alertname
measure = "dead_letters_added"         # one of models.alerts.measures.MEASURES
window = "15m"                         # the measure is read over [now - window, now)
condition = "> 3"                      # "> x", ">= x", "< x", "<= x", "outside a..b"
change = "previous_period"             # optional: compare the % change instead of the value
filters = { workflow = "invoice" }     # workflow, tenant, product_line, kpi, step
group_by = ["workflow"]                # one alert per group (at most one dimension)
interval = "1m"                        # how often it is evaluated
delay = "30s"                          # evaluate [now - delay - window, now - delay)
for = "5m"                             # breaching this long before it fires
keep_firing_for = "10m"                # keeps firing this long after it stops breaching
no_data = "ok"                         # ok | alert | keep
severity = "page"
labels = { team = "billing" }
annotations = { summary = "{{value}} dead letters in {{workflow}}" }
runbook_url = "https://runbooks.example.com/dlq"
budget = "5000"                        # budget_burn only: the period's budget
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from models.errors import FlowmeterError

__all__ = [
    "CHANGES",
    "NO_DATA",
    "Condition",
    "Rule",
    "RulesError",
    "load_rules",
    "parse_duration",
    "parse_rules",
]

NO_DATA = ("ok", "alert", "keep")
CHANGES = ("", "previous_period", "same_hour_last_week")
FILTERS = ("workflow", "tenant", "product_line", "kpi", "step")
_DURATION = re.compile(r"^(\d+)\s*(s|m|h|d)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_CONDITION = re.compile(r"^(>=|<=|>|<)\s*(-?[\d.]+)$|^outside\s+(-?[\d.]+)\s*\.\.\s*(-?[\d.]+)$")


class RulesError(FlowmeterError):
    """A rules file that cannot be used; the message names the file, line and field."""


def parse_duration(text: str) -> timedelta:
    """``90s``, ``5m``, ``6h``, ``3d`` -> timedelta; ValueError otherwise."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 1h or 3d")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class Condition:
    """When a value breaches: ``op`` against ``threshold``, or outside ``low..high``."""

    op: str
    threshold: float = 0.0
    low: float = 0.0
    high: float = 0.0

    def breached(self, value: float) -> bool:
        """True when ``value`` breaches the condition."""
        if self.op == "outside":
            return value < self.low or value > self.high
        return {
            ">": value > self.threshold,
            ">=": value >= self.threshold,
            "<": value < self.threshold,
            "<=": value <= self.threshold,
        }[self.op]

    def __str__(self) -> str:
        if self.op == "outside":
            return f"outside {self.low:g}..{self.high:g}"
        return f"{self.op} {self.threshold:g}"


def parse_condition(text: str) -> Condition:
    """``> 3``, ``<= 0.95``, ``outside 1..5`` -> Condition; ValueError otherwise."""
    match = _CONDITION.match(text.strip())
    if not match:
        raise ValueError(f"{text!r}: expected '> x', '>= x', '< x', '<= x' or 'outside a..b'")
    if match.group(1):
        return Condition(match.group(1), float(match.group(2)))
    low, high = float(match.group(3)), float(match.group(4))
    if low > high:
        raise ValueError(f"{text!r}: the band's low end is above its high end")
    return Condition("outside", low=low, high=high)


@dataclass(frozen=True)
class Rule:
    """One alert rule (see the module docstring for each field)."""

    name: str
    measure: str
    condition: Condition
    window: timedelta
    change: str = ""
    filters: Mapping[str, str] = field(default_factory=dict)
    group_by: tuple[str, ...] = ()
    interval: timedelta = timedelta(minutes=1)
    delay: timedelta = timedelta(seconds=30)
    for_: timedelta = timedelta(0)
    keep_firing_for: timedelta = timedelta(0)
    no_data: str = "ok"
    severity: str = "warning"
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    runbook_url: str = ""
    budget: Decimal | None = None
    currency: str = ""  # budget_burn: count only costs in this currency
    line: int = 0  # where the rule starts in its file

    @property
    def version(self) -> str:
        """A short hash of everything that decides the rule's value and state."""
        text = repr(
            (
                self.measure,
                str(self.condition),
                self.window,
                self.change,
                sorted(self.filters.items()),
                self.group_by,
                self.for_,
                self.keep_firing_for,
                self.no_data,
                self.budget,
                self.currency,
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def _lines_of_rules(text: str) -> list[int]:
    """The line number of each ``[[rule]]`` header, in order."""
    return [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == "[[rule]]"]


def _line_of_key(text: str, start: int, key: str) -> int:
    """The line of ``key = ...`` in the rule starting at ``start`` (the header's line if absent)."""
    lines = text.splitlines()
    for index in range(start, len(lines)):  # lines[start - 1] is the rule's own header
        stripped = lines[index].strip()
        if stripped.startswith("[["):
            break
        if re.match(rf"^{re.escape(key)}\s*=", stripped):
            return index + 1
    return start


_KNOWN = {
    "name",
    "measure",
    "window",
    "condition",
    "change",
    "filters",
    "group_by",
    "interval",
    "delay",
    "for",
    "keep_firing_for",
    "no_data",
    "severity",
    "labels",
    "annotations",
    "runbook_url",
    "budget",
    "currency",
}


def _text_map(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError(f'{what} must be a table of strings, e.g. {{ team = "billing" }}')
    return dict(value)


def _rule(raw: Mapping[str, Any], measures: Mapping[str, Any]) -> Rule:
    def need(key: str) -> Any:
        if key not in raw:
            raise _FieldError(key, f"{key} is missing")
        return raw[key]

    unknown = sorted(set(raw) - _KNOWN)
    if unknown:
        raise _FieldError(unknown[0], f"unknown field {unknown[0]!r}")
    try:
        name = need("name")
        if not isinstance(name, str) or not name.strip():
            raise _FieldError("name", "name must be a non-empty string")
        measure = need("measure")
        if measure not in measures:
            raise _FieldError(
                "measure", f"unknown measure {measure!r}; one of {', '.join(sorted(measures))}"
            )
        values: dict[str, Any] = {"name": name.strip(), "measure": measure}
        for key, target in (
            ("window", "window"),
            ("interval", "interval"),
            ("delay", "delay"),
            ("for", "for_"),
            ("keep_firing_for", "keep_firing_for"),
        ):
            if key in raw or key == "window":
                try:
                    values[target] = parse_duration(str(need(key)))
                except ValueError as exc:
                    raise _FieldError(key, f"{key}: {exc}") from None
        try:
            values["condition"] = parse_condition(str(need("condition")))
        except ValueError as exc:
            raise _FieldError("condition", f"condition: {exc}") from None
        change = raw.get("change", "")
        if change not in CHANGES:
            raise _FieldError(
                "change", f"change must be one of {', '.join(c for c in CHANGES if c)}"
            )
        values["change"] = change
        no_data = raw.get("no_data", "ok")
        if no_data not in NO_DATA:
            raise _FieldError("no_data", f"no_data must be one of {', '.join(NO_DATA)}")
        values["no_data"] = no_data
        filters = _text_map(raw.get("filters", {}), "filters")
        bad = sorted(set(filters) - set(FILTERS))
        if bad:
            raise _FieldError(
                "filters", f"unknown filter {bad[0]!r}; filters are {', '.join(FILTERS)}"
            )
        values["filters"] = filters
        group_by = raw.get("group_by", [])
        allowed = measures[measure].groups
        if (
            not isinstance(group_by, list)
            or len(group_by) > 1
            or any(g not in allowed for g in group_by)
        ):
            raise _FieldError(
                "group_by",
                f"group_by takes at most one of {', '.join(allowed) or 'nothing'} for {measure}",
            )
        values["group_by"] = tuple(group_by)
        values["labels"] = _text_map(raw.get("labels", {}), "labels")
        values["annotations"] = _text_map(raw.get("annotations", {}), "annotations")
        values["severity"] = str(raw.get("severity", "warning"))
        values["runbook_url"] = str(raw.get("runbook_url", ""))
        currency = str(raw.get("currency", ""))
        if currency and not re.fullmatch(r"[A-Z]{3}", currency):
            raise _FieldError("currency", "currency must be an ISO 4217 code like EUR")
        values["currency"] = currency
        if "budget" in raw:
            try:
                values["budget"] = Decimal(str(raw["budget"]))
            except InvalidOperation:
                raise _FieldError("budget", 'budget must be a number, e.g. "5000.00"') from None
        if measures[measure].needs_budget and values.get("budget") is None:
            raise _FieldError("budget", f'{measure} needs budget = "<amount>"')
    except ValueError as exc:
        raise _FieldError("", str(exc)) from None
    return Rule(**values)


class _FieldError(Exception):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def parse_rules(text: str, measures: Mapping[str, Any], source: str = "rules") -> list[Rule]:
    """Every rule of a TOML text; RulesError naming ``source:line`` and the field at fault."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{source}: {exc}") from None
    unknown = sorted(set(document) - {"rule"})
    if unknown:
        raise RulesError(f"{source}: unknown top-level key {unknown[0]!r} (rules are [[rule]])")
    raw_rules = document.get("rule", [])
    if not isinstance(raw_rules, list):
        raise RulesError(f"{source}: write each rule as a [[rule]] table")
    starts = _lines_of_rules(text)
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_rules):
        start = starts[index] if index < len(starts) else 1
        try:
            rule = _rule(raw, measures)
        except _FieldError as problem:
            line = _line_of_key(text, start, problem.key) if problem.key else start
            raise RulesError(f"{source}:{line}: rule {index + 1}: {problem}") from None
        if rule.name in seen:
            raise RulesError(
                f"{source}:{start}: rule {index + 1}: name {rule.name!r} is already used on "
                f"line {seen[rule.name]}"
            )
        seen[rule.name] = start
        rules.append(Rule(**{**rule.__dict__, "line": start}))
    return rules


def load_rules(path: Path, measures: Mapping[str, Any]) -> list[Rule]:
    """Parse a rules file; RulesError when it cannot be read or is invalid."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}: cannot read the rules file ({exc})") from None
    return parse_rules(text, measures, str(path))
