"""Plotly figures for the views: drawing only, every number comes from models/."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = [
    "BAD",
    "GOOD",
    "estimated_actual_figure",
    "health_figure",
    "ranking_figure",
    "savings_figure",
    "storage_by_partition",
    "waterfall",
]

GOOD = "#2E7D32"
BAD = "#C62828"
NEUTRAL = "#1565C0"
MUTED = "#90A4AE"
WARN = "#EF6C00"

NO_WORKFLOW = "(no workflow)"


def _layout(figure: go.Figure, height: int) -> go.Figure:
    figure.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": 1.08, "x": 0},
        hovermode="x unified",
        template="plotly_white",
    )
    return figure


def health_figure(series: pd.DataFrame, kpi_series: pd.DataFrame, bucket_minutes: int) -> go.Figure:
    """Runs and failed runs, p95 latency, and the workflow's KPI events on one time axis."""
    figure = make_subplots(
        rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06, row_heights=[0.4, 0.3, 0.3],
        subplot_titles=("Runs and failed runs", "Run latency p95 (ms)", "Business KPI events"),
    )  # fmt: skip
    width = bucket_minutes * 60 * 1000 * 0.9
    figure.add_bar(x=series["bucket"], y=series["spans"], name="runs", marker_color=MUTED,
                   width=width, row=1, col=1)  # fmt: skip
    figure.add_bar(x=series["bucket"], y=series["errors"], name="failed runs", marker_color=BAD,
                   width=width, row=1, col=1)  # fmt: skip
    figure.add_scatter(x=series["bucket"], y=series["p95_ms"], name="p95 ms", mode="lines+markers",
                       line={"color": NEUTRAL}, row=2, col=1)  # fmt: skip
    if not kpi_series.empty:
        for kpi, rows in kpi_series.groupby("kpi", sort=True):
            figure.add_scatter(x=rows["bucket"], y=rows["events"], name=str(kpi),
                               mode="lines+markers", row=3, col=1)  # fmt: skip
    figure.update_layout(barmode="overlay")
    return _layout(figure, 620)


def _depths(spans: pd.DataFrame) -> dict[str, int]:
    parents = dict(zip(spans["span_id"], spans["parent_span_id"], strict=True))
    depths: dict[str, int] = {}
    for span_id in parents:
        depth, node, seen = 0, span_id, set()
        while parents.get(node) and parents[node] in parents and node not in seen:
            seen.add(node)
            node = parents[node]
            depth += 1
        depths[span_id] = depth
    return depths


def waterfall(spans: pd.DataFrame) -> go.Figure:
    """Spans as bars on a time axis (indented by depth): errors red, retries orange with a marker."""
    frame = spans.sort_values("timestamp").reset_index(drop=True)
    start = pd.Timestamp(frame["timestamp"].min())
    depths = _depths(frame)
    offsets = [(pd.Timestamp(t) - start).total_seconds() * 1000 for t in frame["timestamp"]]
    labels, colors, hovers, retry_x, retry_y = [], [], [], [], []
    records: list[dict[str, Any]] = frame.to_dict("records")  # type: ignore[assignment]
    for i, span in enumerate(records):
        attrs = dict(span["attributes"])
        name, service = span["span_name"], span["service"]
        label = f"{i + 1:>3}. {'· ' * depths[span['span_id']]}{name} [{service}]"
        labels.append(label)
        retried = attrs.get("step.outcome") == "retry" or "retry" in list(span["event_names"])
        failed = str(span["status_code"]) in ("Error", "STATUS_CODE_ERROR")
        colors.append(BAD if failed and not retried else WARN if retried else GOOD)
        hovers.append(
            f"{name}<br>{service}<br>{float(span['duration_ms']):.1f} ms<br>"
            f"status {span['status_code']} {span['status_message']}"
        )
        if retried:
            retry_x.append(offsets[i] + float(span["duration_ms"]))
            retry_y.append(label)
    figure = go.Figure()
    figure.add_bar(
        y=labels, x=frame["duration_ms"].astype(float), base=offsets, orientation="h",
        marker_color=colors, hovertext=hovers, hoverinfo="text", name="span",
    )  # fmt: skip
    if retry_x:
        figure.add_scatter(x=retry_x, y=retry_y, mode="markers", name="retried",
                           marker={"symbol": "x", "size": 11, "color": WARN})  # fmt: skip
    figure.update_yaxes(autorange="reversed", type="category")
    figure.update_xaxes(title_text="milliseconds since the trace started")
    figure.update_layout(showlegend=False, hovermode="closest")
    return _layout(figure, max(220, 28 * len(frame) + 80))


def savings_figure(by_day: pd.DataFrame, currency: str) -> go.Figure:
    """Manual cost avoided vs platform cost per day, with cumulative net savings."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    days = [str(day) for day in by_day["day"]]
    figure.add_bar(x=days, y=by_day["manual_cost_avoided"].astype(float),
                   name="manual cost avoided", marker_color=GOOD)  # fmt: skip
    figure.add_bar(x=days, y=by_day["platform_cost"].astype(float),
                   name="platform cost", marker_color=BAD)  # fmt: skip
    figure.add_scatter(x=days, y=by_day["cumulative_net"].astype(float),
                       name="cumulative net savings", mode="lines+markers",
                       line={"color": NEUTRAL, "width": 3}, secondary_y=True)  # fmt: skip
    figure.update_yaxes(title_text=f"per day ({currency})", secondary_y=False)
    figure.update_yaxes(title_text=f"cumulative ({currency})", secondary_y=True, showgrid=False)
    figure.update_xaxes(type="category")
    figure.update_layout(barmode="group")
    return _layout(figure, 360)


def _workflow_names(report: pd.DataFrame) -> pd.DataFrame:
    # Cost attributed to no workflow has an empty name; say so instead of an empty label.
    return report.assign(workflow=report["workflow"].replace("", NO_WORKFLOW))


def ranking_figure(report: pd.DataFrame, currency: str) -> go.Figure:
    """Net savings per workflow, best at the top, ROI % on each bar."""
    report = _workflow_names(report)
    frame = report.assign(net=report["net_savings"].astype(float)).sort_values("net")
    labels = [
        f"{w} v{int(v)} · ROI {'–' if r is None or r != r else f'{float(r):,.0f}%'}"
        if v == v and v is not None else f"{w} · no baseline"
        for w, v, r in zip(frame["workflow"], frame["baseline_version"], frame["roi_percent"],
                           strict=True)
    ]  # fmt: skip
    figure = go.Figure()
    figure.add_bar(y=labels, x=frame["net"], orientation="h", hoverinfo="x+y",
                   marker_color=[GOOD if v >= 0 else BAD for v in frame["net"]])  # fmt: skip
    figure.update_xaxes(title_text=f"net savings ({currency})")
    figure.update_layout(showlegend=False, hovermode="closest")
    return _layout(figure, max(200, 48 * len(frame) + 80))


def estimated_actual_figure(report: pd.DataFrame, currency: str) -> go.Figure:
    """Savings the baselines promise vs savings measured from runs, per workflow."""
    report = _workflow_names(report)
    figure = go.Figure()
    figure.add_bar(x=report["workflow"], y=report["estimated_savings"].astype(float),
                   name="estimated", marker_color=MUTED)  # fmt: skip
    figure.add_bar(x=report["workflow"], y=report["actual_savings"].astype(float),
                   name="actual", marker_color=NEUTRAL)  # fmt: skip
    figure.update_yaxes(title_text=currency)
    figure.update_layout(barmode="group")
    return _layout(figure, 300)


def storage_by_partition(partitions: pd.DataFrame) -> go.Figure:
    """Bytes on disk per partition (a day, or a month for monthly tables), stacked by table."""
    figure = go.Figure()
    ordered = partitions.sort_values("partition")
    for table, rows in ordered.groupby("table", sort=True):
        figure.add_bar(x=rows["partition"].astype(str), y=rows["bytes"].astype(float) / 2**20,
                       name=str(table))  # fmt: skip
    figure.update_yaxes(title_text="MiB on disk")
    figure.update_xaxes(type="category", title_text="partition")
    figure.update_layout(barmode="stack")
    return _layout(figure, 340)
