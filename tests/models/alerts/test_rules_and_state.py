"""Alert rules (parsing, line-precise errors) and the state machine on a virtual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.alerts.measures import MEASURES
from models.alerts.rules import Rule, RulesError, parse_condition, parse_rules
from models.alerts.state import AlertState, step

GOOD = """
# comment
[[rule]]
name = "dead letters"
measure = "dead_letters_added"
window = "15m"
condition = "> 3"
group_by = ["workflow"]
for = "2m"
keep_firing_for = "5m"
labels = { team = "billing" }
annotations = { summary = "{{ value }} dead letters in {{ workflow }}" }

[[rule]]
name = "budget"
measure = "budget_burn"
window = "1d"
condition = "> 0.8"
filters = { tenant = "acme" }
budget = "5000.00"
"""


def test_a_good_file_parses_with_defaults() -> None:
    dead, budget = parse_rules(GOOD, MEASURES)
    assert (dead.name, dead.line, dead.window) == ("dead letters", 3, timedelta(minutes=15))
    assert dead.group_by == ("workflow",) and dead.for_ == timedelta(minutes=2)
    assert dead.no_data == "ok" and dead.interval == timedelta(minutes=1)
    assert str(budget.budget) == "5000.00" and budget.line == 14
    assert dead.version != budget.version


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ('measure = "budget_burn"', 'measure = "budget_brun"'),
            "rules:16: rule 2: unknown measure 'budget_brun'",
        ),
        (
            ('condition = "> 0.8"', 'condition = "about 0.8"'),
            "rules:18: rule 2: condition: 'about 0.8'",
        ),
        (
            ('window = "15m"', 'window = "15 minutes"'),
            "rules:6: rule 1: window: '15 minutes' is not a duration",
        ),
        (
            ('group_by = ["workflow"]', 'group_by = ["kpi"]'),
            "rules:8: rule 1: group_by takes at most one of",
        ),
        (('budget = "5000.00"\n', ""), "rules:14: rule 2: budget_burn needs budget"),
        (('for = "2m"', 'fro = "2m"'), "rules:9: rule 1: unknown field 'fro'"),
        (
            ('name = "budget"', 'name = "dead letters"'),
            "rules:14: rule 2: name 'dead letters' is already used on line 3",
        ),
        (('[[rule]]\nname = "budget"', '[[rule]\nname = "budget"'), "rules: "),
    ],
)
def test_mistakes_name_the_line_and_the_field(edit: tuple[str, str], message: str) -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(GOOD.replace(*edit), MEASURES)
    assert str(caught.value).startswith(message), str(caught.value)


def test_conditions() -> None:
    assert parse_condition(">= 2").breached(2.0)
    assert not parse_condition("< 1").breached(1.0)
    band = parse_condition("outside 10..20")
    assert band.breached(9.9) and band.breached(20.1) and not band.breached(15)
    with pytest.raises(ValueError, match="low end is above"):
        parse_condition("outside 5..1")


T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _rule(**changes: object) -> Rule:
    [rule] = parse_rules(
        '[[rule]]\nname = "r"\nmeasure = "runs"\nwindow = "5m"\ncondition = "> 1"\n', MEASURES
    )
    return Rule(**{**rule.__dict__, **changes})


def _walk(rule: Rule, observations: list[float | None]) -> list[str]:
    """Evaluate once a minute on a virtual clock; the state after each evaluation."""
    state, seen = AlertState("r", "fp", {}), []
    for minute, value in enumerate(observations):
        breaching = None if value is None else rule.condition.breached(value)
        state, _ = step(state, rule, T0 + timedelta(minutes=minute), value=value,
                        breaching=breaching)  # fmt: skip
        seen.append(state.state)
    return seen


def test_for_holds_a_breach_pending_until_it_lasted() -> None:
    rule = _rule(for_=timedelta(minutes=2))
    assert _walk(rule, [5, 5, 5, 5, 0]) == ["pending", "pending", "firing", "firing", "resolved"]
    assert _walk(rule, [5, 0, 5, 5]) == ["pending", "inactive", "pending", "pending"]


def test_keep_firing_for_rides_out_flapping() -> None:
    rule = _rule(keep_firing_for=timedelta(minutes=3))
    flapping = [5, 0, 5, 0, 0, 0, 0]
    assert _walk(rule, flapping) == [
        "firing", "firing", "firing", "firing", "firing", "resolved", "inactive",
    ]  # fmt: skip
    assert _walk(_rule(), flapping) == [
        "firing", "resolved", "firing", "resolved", "inactive", "inactive", "inactive",
    ]  # fmt: skip


def test_no_data_policies() -> None:
    assert _walk(_rule(no_data="ok"), [5, None, None]) == ["firing", "resolved", "nodata"]
    assert _walk(_rule(no_data="alert"), [None, None]) == ["firing", "firing"]
    assert _walk(_rule(no_data="keep"), [5, None, None, 0]) == [
        "firing", "firing", "firing", "resolved",
    ]  # fmt: skip


def test_an_error_keeps_a_firing_alert_firing_and_is_recorded_otherwise() -> None:
    rule = _rule()
    firing, _ = step(AlertState("r", "fp", {}), rule, T0, value=5, breaching=True)
    kept, transition = step(firing, rule, T0 + timedelta(minutes=1), value=None, breaching=None,
                            error="store down")  # fmt: skip
    assert kept.state == "firing" and transition is None and kept.error == "store down"
    broken, transition = step(AlertState("r", "fp", {}), rule, T0, value=None, breaching=None,
                              error="store down")  # fmt: skip
    assert broken.state == "error"
    assert transition is not None and (transition.before, transition.after) == ("inactive", "error")
