"""One evaluation of one rule: read its measure per group, move each group's state."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from models.alerts.measures import MEASURES, MeasureContext, Values
from models.alerts.rules import Rule
from models.alerts.state import AlertState, Transition, fingerprint, step
from models.errors import FlowmeterError

__all__ = ["current_values", "evaluate_rule", "window_of"]

logger = logging.getLogger(__name__)


def window_of(rule: Rule, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) the rule reads at ``now``: its window, ending ``delay`` ago (ingest lag)."""
    end = now - rule.delay
    return end - rule.window, end


def current_values(ctx: MeasureContext, rule: Rule, now: datetime) -> Values:
    """The rule's value per group at ``now`` (a % change when the rule compares periods)."""
    measure = MEASURES[rule.measure]
    start, end = window_of(rule, now)
    values = measure.read(ctx, rule, start, end)
    if not rule.change:
        return values
    shift = rule.window if rule.change == "previous_period" else timedelta(days=7)
    before = measure.read(ctx, rule, start - shift, end - shift)
    return {
        group: (value - before[group]) / abs(before[group]) * 100.0
        for group, value in values.items()
        if before.get(group)  # no (or zero) earlier value: no change to speak of
    }


def evaluate_rule(
    ctx: MeasureContext, rule: Rule, states: Mapping[str, AlertState], now: datetime
) -> tuple[list[AlertState], list[Transition]]:
    """Every group's new state (known groups and new ones) and the transitions made."""
    known = {fp: s for fp, s in states.items() if s.rule == rule.name}
    try:
        values = current_values(ctx, rule, now)
        error = ""
    except (FlowmeterError, ValueError, KeyError) as exc:
        logger.warning("alert rule %r could not be evaluated: %s", rule.name, exc)
        values, error = {}, str(exc) or type(exc).__name__
    groups: dict[str, tuple[dict[str, str], float | None]] = {}
    for group, value in values.items():
        labels = dict(group)
        groups[fingerprint(rule.name, labels)] = (labels, value)
    for fp, state in known.items():
        groups.setdefault(fp, (dict(state.group), None))
    if not groups:  # nothing known, nothing read: the rule's one ungrouped state
        groups[fingerprint(rule.name, {})] = ({}, None)
    new_states: list[AlertState] = []
    transitions: list[Transition] = []
    for fp, (labels, observed) in sorted(groups.items()):
        previous = known.get(fp) or AlertState(rule.name, fp, labels)
        breaching = None if observed is None else rule.condition.breached(observed)
        current, transition = step(
            previous, rule, now, value=observed, breaching=breaching, error=error
        )
        new_states.append(current)
        if transition is not None:
            transitions.append(transition)
    return new_states, transitions
