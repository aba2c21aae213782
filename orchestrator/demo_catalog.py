"""The demo's KPI catalog (orchestrator/flows/kpis.toml), saved into the store by the backfill."""

from __future__ import annotations

from importlib import resources

from models.db import Store
from models.kpi_catalog import save_catalog
from models.rules import RuleSet
from models.rules_file import parse_rules

__all__ = ["demo_catalog", "save_demo_catalog"]


def demo_catalog() -> RuleSet:
    """The demo's catalog as parsed from its TOML."""
    text = (resources.files("orchestrator.flows") / "kpis.toml").read_text("utf-8")
    return parse_rules(text, "orchestrator/flows/kpis.toml")


def save_demo_catalog(store: Store) -> None:
    """Make the demo's catalog the store's (what the dashboard shows without a rules file)."""
    save_catalog(store, demo_catalog().kpis, "demo")
