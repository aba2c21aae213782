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


LINK = '<a href="http://evil">click</a>'


def test_telemetry_text_in_charts_is_escaped_for_plotly_pseudo_html() -> None:
    spans = pd.DataFrame(
        {
            "timestamp": [pd.Timestamp("2026-11-01 10:00:00")],
            "span_id": ["s1"],
            "parent_span_id": [""],
            "span_name": [LINK],
            "service": ["<b>svc</b>"],
            "duration_ms": [12.0],
            "status_code": ["Error"],
            "status_message": ["<img src=x>"],
            "attributes": [{}],
            "event_names": [[]],
        }
    )
    figure = charts.waterfall(spans)
    shown = " ".join([*figure.data[0].y, *figure.data[0].hovertext])
    assert "<a " not in shown and "<b>" not in shown and "<img" not in shown
    assert '&lt;a href="http://evil"&gt;click&lt;/a&gt;' in shown  # plotly shows it as text
    report = pd.DataFrame(
        {"workflow": [LINK], "baseline_version": [1], "roi_percent": [Decimal("5")],
         "net_savings": [Decimal("1")], "estimated_savings": [Decimal("1")],
         "actual_savings": [Decimal("1")]}
    )  # fmt: skip
    assert "<a " not in str(charts.ranking_figure(report, "EUR").data[0].y)
    assert "<a " not in str(charts.estimated_actual_figure(report, "EUR").data[0].x)
    kpis = pd.DataFrame({"kpi": [LINK], "bucket": [pd.Timestamp("2026-11-01")], "events": [1]})
    series = pd.DataFrame({"bucket": [], "spans": [], "errors": [], "p95_ms": []})
    assert "<a " not in str([trace.name for trace in charts.health_figure(series, kpis, 60).data])
