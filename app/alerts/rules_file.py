"""Which rules a process evaluates: FLOWMETER_ALERT_RULES_FILE, or the demo's under --demo."""

from __future__ import annotations

from importlib import resources

from models.alerts.measures import MEASURES
from models.alerts.rules import Rule, load_rules, parse_rules
from models.settings import Settings

__all__ = ["DEMO_RULES", "configured_rules"]

DEMO_RULES = "demo_rules.toml"


def configured_rules(settings: Settings, *, demo: bool = False) -> list[Rule]:
    """The rules to evaluate (empty: alerting is off); RulesError names a bad file's line."""
    if settings.alert_rules_file is not None:
        return load_rules(settings.alert_rules_file, MEASURES)
    if demo:
        text = (resources.files("app.alerts") / DEMO_RULES).read_text(encoding="utf-8")
        return parse_rules(text, MEASURES, f"app/alerts/{DEMO_RULES}")
    return []
