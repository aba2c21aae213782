from __future__ import annotations

from decimal import Decimal

import pandas as pd

from app import charts


def test_cost_without_a_workflow_is_named_in_the_ranking() -> None:
    report = pd.DataFrame(
        {
            "workflow": ["", "invoice"],
            "baseline_version": [None, 1],
            "roi_percent": [None, Decimal("120")],
            "net_savings": [Decimal("-32"), Decimal("500")],
            "estimated_savings": [Decimal("0"), Decimal("600")],
            "actual_savings": [Decimal("0"), Decimal("500")],
        }
    )
    ranking = charts.ranking_figure(report, "EUR")
    assert list(ranking.data[0].y) == ["(no workflow) · no baseline", "invoice v1 · ROI 120%"]
    estimated = charts.estimated_actual_figure(report, "EUR")
    assert "(no workflow)" in list(estimated.data[0].x)
    assert "" not in list(estimated.data[0].x)
