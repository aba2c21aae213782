"""Recognition rules as data: parsing, line-precise errors, matching and extraction (pure)."""

from __future__ import annotations

import pytest

from models.errors import RulesError
from models.rules import PROFILES, SpanView
from models.rules_file import parse_rules, profile_text


def span(name: str, service: str = "svc", error: bool = False, **attributes: str) -> SpanView:
    return SpanView(service=service, name=name, error=error, attributes=attributes)


RULES = """\
profiles = []

[defaults]
entities = { "invoice.id" = "invoice", "order.id" = "order" }
product_line = "{resource:product.line}"

[[rule]]
name = "invoice api"
service = "billing-*"
span = "POST /invoices*"
kind = "run"
workflow = "invoice intake"
correlation = "{attr:request.id}"

[[rule]]
name = "etl step"
span_regex = '^job:(\\w+):(\\w+)$'
attributes = { "etl.state" = "*" }
workflow = "{group:1}"
step = "{group:2}"
attempt = "{attr:etl.try}"
outcome_attribute = "etl.state"
outcome_map = { done = "ok", again = "retry", dead = "failed" }

[[kpi]]
name = "invoices_posted"
label = "Invoices posted"
from = "runs"
workflow = "invoice intake"

[[kpi]]
name = "refund_value"
unit = "money"
currency = "EUR"
direction = "down"
aggregation = "sum"
target = 1000
"""


def test_a_rule_extracts_the_native_dialect() -> None:
    rules = parse_rules(RULES)
    run = SpanView("billing-api", "POST /invoices", False,
                   {"request.id": "r-9", "invoice.id": "INV-1"}, {"product.line": "ap"})  # fmt: skip
    assert rules.recognize(run) == {
        "flowmeter.kind": "run", "flowmeter.source": "rules", "workflow.name": "invoice intake",
        "run.outcome": "completed", "entity.type": "invoice", "entity.id": "INV-1",
        "correlation.id": "r-9", "product.line": "ap",
    }  # fmt: skip
    assert rules.recognize(span("POST /invoices", service="shop")) is None  # service glob
    step = rules.recognize(span("job:nightly:load", **{"etl.state": "again", "etl.try": "2"}))
    assert step is not None
    assert (step["workflow.name"], step["step.name"], step["step.attempt"]) == (
        "nightly",
        "load",
        "2",
    )
    assert (step["step.outcome"], step["flowmeter.retries"]) == ("retry", "1")
    failed = rules.recognize(span("job:nightly:load", error=True, **{"etl.state": "??"}))
    assert failed is not None and failed["step.outcome"] == "failed"  # unmapped: from the status
    assert rules.recognize(span("job:nightly:load")) is None  # the attribute must be present


def test_the_catalog_is_read_with_defaults() -> None:
    rules = parse_rules(RULES)
    posted, refunds = rules.kpis
    assert (posted.source, posted.workflow, posted.outcome, posted.label) == (
        "runs", "invoice intake", "completed", "Invoices posted")  # fmt: skip
    assert (refunds.label, refunds.kpi, refunds.direction, refunds.target) == (
        "Refund value", "refund_value", "down", 1000.0)  # fmt: skip


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (('kind = "run"', 'kind = "sometimes"'), 11, "kind is 'run', 'step' or 'marker'"),
        (("span_regex = '^job", "span_regex = '(job"), 17, "span_regex"),
        (("attempt =", "atempt ="), 21, "unknown key 'atempt'"),
        (('again = "retry"', 'again = "maybe"'), 23, "outcome_map values"),
        (('workflow = "{group:1}"', 'workflow = "{group:x}"'), 19, "the group is a number"),
        (('direction = "down"', 'direction = "sideways"'), 35, "direction is one of up, down"),
        (('currency = "EUR"', 'currency = "euro"'), 34, "ISO 4217"),
        (('name = "refund_value"', 'name = "invoices_posted"'), 31, "defined twice"),
        (('workflow = "invoice intake"\n\n', "\n\n"), 25, "names its workflow"),
    ],
)
def test_errors_name_the_line(change: tuple[str, str], line: int, words: str) -> None:
    text = RULES.replace(*change, 1)
    assert text != RULES
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "rules.toml")
    assert str(caught.value).startswith(f"rules.toml:{line}: "), str(caught.value)
    assert words in str(caught.value)


def test_toml_syntax_errors_name_line_and_column() -> None:
    with pytest.raises(RulesError, match=r"rules.toml: not valid TOML: .*line 2"):
        parse_rules("profiles = []\n[[rule]\n", "rules.toml")


def test_every_profile_parses_and_unknown_ones_are_refused() -> None:
    for name in PROFILES:
        assert parse_rules(profile_text(name), name, source=name).rules
    with pytest.raises(RulesError, match=r"rules\.toml:1: profiles are among"):
        parse_rules('profiles = ["celery", "luigi"]', "rules.toml")


def test_user_rules_come_before_profiles_and_share_defaults() -> None:
    rules = parse_rules(
        'profiles = ["celery"]\n[defaults]\nentities = { "invoice.id" = "invoice" }\n'
        '[[rule]]\nname = "mine"\nspan = "run/billing.*"\nworkflow = "billing"\nstep = "{name}"\n'
    )
    mine = rules.recognize(span("run/billing.charge", **{"celery.action": "run"}))
    assert mine is not None and (mine["workflow.name"], mine["flowmeter.source"]) == (
        "billing",
        "rules",
    )
    celery = rules.recognize(
        span("run/x.y", **{"celery.action": "run", "celery.task_name": "x.y", "invoice.id": "I-7",
                           "celery.state": "RETRY", "celery.retries": "1"})
    )  # fmt: skip
    assert celery is not None
    assert celery["flowmeter.source"] == "celery"
    assert (celery["step.outcome"], celery["step.attempt"], celery["entity.id"]) == (
        "retry",
        "2",
        "I-7",
    )


def test_markers_let_unrelated_requests_skip_recognition() -> None:
    markers = parse_rules('profiles = ["celery", "temporal", "http"]').markers
    assert markers == (b"celery.action", b"RunWorkflow:", b"CompleteWorkflow:", b"RunActivity:",
                       b"http.route")  # fmt: skip
    glob = parse_rules('profiles = []\n[[rule]]\nname = "a"\nspan = "POST /inv*"\nkind = "run"\n'
                       'workflow = "a"\n')  # fmt: skip
    assert glob.markers == (b"POST",)  # a literal start of every name the glob matches
    regex = parse_rules("profiles = []\n[[rule]]\nname = 'a'\nspan_regex = '^jobs?:x'\n"
                        "kind = 'run'\nworkflow = 'a'\n")  # fmt: skip
    assert regex.markers == (b"job",)  # the optional 's' is not part of it
    anything = parse_rules('profiles = ["celery"]\n[[rule]]\nname = "a"\nservice = "b*"\n'
                           'kind = "run"\nworkflow = "a"\n')  # fmt: skip
    assert anything.markers is None  # a rule matching by service alone: every request is read
