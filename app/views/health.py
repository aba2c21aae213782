"""System Health: runs, errors, latency, retries, dead letters, breakers, beside the business KPI."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from app import charts, data, frame
from app.filters import bucket_minutes
from app.formatting import duration_ms, md_code

ctx = frame.context()
f = ctx.filters
frame.header(
    "System Health",
    ctx,
    applies="DLQ depth, queue lag and breakers are platform-wide" if f.product_line else "",
)
BREAKER_STATES = {0.0: "closed", 1.0: "half-open", 2.0: "open"}


@st.fragment(run_every=timedelta(seconds=data.TTL_SECONDS))
def tiles() -> None:
    summary = data.health_summary(
        f.start, f.end, "workflow", f.workflow, ctx.tenants, f.product_line
    )
    totals = data.health_totals(summary, f.start, f.end)
    step_totals = data.health_totals(
        data.health_summary(f.start, f.end, "step", f.workflow, ctx.tenants, f.product_line),
        f.start,
        f.end,
    )
    ops = data.gauge_totals(data.gauges(f.start, f.end, ctx.tenants))
    row = st.columns(4)
    row[0].metric("Runs", f"{totals.spans:,}", border=True,
                  help=f"{totals.throughput_per_min:,.3f} runs per minute")  # fmt: skip
    row[1].metric("Run error rate", f"{totals.error_rate:.1%}", border=True,
                  help=f"{totals.errors:,} failed runs; SLO: {data.SLO_SUCCESS:.0%} succeed")  # fmt: skip
    row[2].metric("Slowest workflow p95", duration_ms(totals.worst_p95_ms), border=True,
                  help=f"target {duration_ms(data.SLO_P95_MS)}")  # fmt: skip
    row[3].metric("Step retry rate", f"{step_totals.retry_rate:.1%}", border=True,
                  help=f"{step_totals.retries:,} retries over {step_totals.spans:,} step attempts")  # fmt: skip
    row = st.columns(4)
    row[0].metric("Dead-lettered runs", f"{totals.dead_letters:,}", border=True)
    row[1].metric("DLQ depth now", f"{ops.dlq_depth:,.0f}", border=True)
    lag = ops.queue_lag_seconds
    row[2].metric("Queue lag", "–" if lag is None else f"{lag:,.1f} s", border=True)
    row[3].metric("Open breakers", f"{ops.open_breakers}", border=True)


summary = data.health_summary(f.start, f.end, "workflow", f.workflow, ctx.tenants, f.product_line)
if summary.empty:
    frame.empty_state("runs")
    st.stop()
tiles()

minutes = bucket_minutes(f.start, f.end)
series = data.health_timeseries(f.start, f.end, minutes, f.workflow, ctx.tenants, f.product_line)
kpi_bucket = "hour" if minutes <= 60 else "day"
kpi_series = data.kpi_series(f.start, f.end, kpi_bucket, f.workflow, ctx.tenants)
# The overlay shows the catalog's event KPIs under their labels (every KPI without a catalog).
overlay = {k.kpi: k.label for k in data.kpi_catalog() if k.source == "events"}
if overlay and not kpi_series.empty:
    kpi_series = kpi_series[kpi_series["kpi"].isin(list(overlay))]
    kpi_series = kpi_series.assign(kpi=kpi_series["kpi"].map(overlay))
st.subheader(f"Runs over time · {md_code(f.workflow) or 'all workflows'}")
st.caption("Click a bar or point to open the matching runs in the Trace Explorer.")
event = st.plotly_chart(
    charts.health_figure(series, kpi_series, minutes),
    key="health_chart",
    on_select="rerun",
    selection_mode=("points",),
    width="stretch",
)


def trace_link(start: pd.Timestamp, label: str) -> None:
    params = {
        "attr": f"workflow.name={f.workflow}" if f.workflow else "",
        "from_ts": start.isoformat(timespec="minutes"),
        "to_ts": (start + timedelta(minutes=minutes)).isoformat(timespec="minutes"),
    }
    params = {k: v for k, v in params.items() if v}
    if not f.workflow:
        params["attr"] = "run.outcome=failed"
    st.page_link("views/traces.py", label=label, icon=":material/search:",
                 query_params={**f.to_params(), **params})  # fmt: skip


selected = event.selection.points if event and event.selection else []
if selected:
    picked = pd.Timestamp(selected[0]["x"])
    trace_link(picked, f"Open the runs of {picked:%Y-%m-%d %H:%M} in the Trace Explorer")

worst = series[series["errors"] > 0].sort_values("errors", ascending=False).head(3)
if not worst.empty:
    st.markdown("**Worst periods**")
    for bucket in worst.to_dict("records"):
        moment = pd.Timestamp(bucket["bucket"])
        trace_link(moment, f"{moment:%Y-%m-%d %H:%M}: {bucket['errors']} failed of "
                   f"{bucket['spans']} runs")  # fmt: skip

left, right = st.columns([3, 2])
with left:
    st.subheader("Per workflow, against the SLO")
    st.dataframe(
        summary[["key", "spans", "error_rate", "dead_letters", "p50_ms", "p95_ms", "p99_ms",
                 "slo_met", "error_budget_burn"]],
        hide_index=True, width="stretch",
        column_config={
            "key": "workflow", "spans": "runs",
            "error_rate": st.column_config.NumberColumn("error rate", format="percent"),
            "dead_letters": "dead letters",
            "p50_ms": st.column_config.NumberColumn("p50 ms", format="%.0f"),
            "p95_ms": st.column_config.NumberColumn("p95 ms", format="%.0f"),
            "p99_ms": st.column_config.NumberColumn("p99 ms", format="%.0f"),
            "slo_met": "SLO met",
            "error_budget_burn": st.column_config.NumberColumn("budget burn", format="%.2fx"),
        },
    )  # fmt: skip
    steps = data.health_summary(f.start, f.end, "step", f.workflow, ctx.tenants, f.product_line)
    st.subheader("Per step")
    st.dataframe(
        steps[["key", "spans", "error_rate", "retries", "p95_ms"]],
        hide_index=True, width="stretch",
        column_config={"key": "step", "spans": "attempts",
                       "error_rate": st.column_config.NumberColumn("error rate", format="percent"),
                       "p95_ms": st.column_config.NumberColumn("p95 ms", format="%.0f")},
    )  # fmt: skip
with right:
    gauges = data.gauges(f.start, f.end, ctx.tenants)
    st.subheader("Circuit breakers")
    breakers = gauges[gauges["metric"] == "flowmeter.breaker.state"]
    if breakers.empty:
        st.caption("No breaker state reported in this period.")
    else:
        shown = breakers.assign(state=breakers["value"].map(BREAKER_STATES).fillna("unknown"))
        st.dataframe(shown[["label", "state", "at"]].rename(columns={"label": "breaker"}),
                     hide_index=True, width="stretch")  # fmt: skip
    st.subheader("Dead-letter depth")
    depth = gauges[gauges["metric"] == "flowmeter.dlq.depth"]
    if depth.empty:
        st.caption("No DLQ depth reported in this period.")
    else:
        st.dataframe(depth[["label", "value", "at"]].rename(columns={"label": "workflow",
                     "value": "waiting"}), hide_index=True, width="stretch")  # fmt: skip
