"""Executive ROI: what the automations saved, what they cost, and which ones earn their keep."""

from __future__ import annotations

import streamlit as st

from app import charts, data, frame, kpi_tiles
from app.formatting import money, percent, signed_money

ctx = frame.context()
f = ctx.filters
frame.header("Executive ROI", ctx)

report = data.roi(f.start, f.end, f.workflow, ctx.tenants)
if report.empty:
    frame.empty_state("automated runs or baselines")
    st.stop()
prev_start, prev_end = f.previous
now = data.roi_totals(report)
before = data.roi_totals(data.roi(prev_start, prev_end, f.workflow, ctx.tenants))
daily, payback = data.roi_daily(f.start, f.end, f.workflow, ctx.tenants)
cur = now.currency

# One sentence first: the answer, in words.
over = f"the {f.label.lower()}" if f.label.startswith("Last") else f.label
if now.savings_multiple is not None and now.net_savings > 0:
    verdict = (f"Automation saved **{money(now.net_savings, cur)} net** over "
               f"{over}: **{float(now.savings_multiple):,.1f}×** its platform cost of "
               f"{money(now.platform_cost, cur)}.")  # fmt: skip
elif now.net_savings > 0:
    verdict = f"Automation saved **{money(now.net_savings, cur)}** over {over}."
else:
    verdict = (f"Automation cost **{money(-now.net_savings, cur)} more** than it saved over "
               f"{over}.")  # fmt: skip
st.markdown(f"### {verdict}")

tiles = st.columns(5)
tiles[0].metric("Net savings", money(now.net_savings, cur), border=True,
                delta=signed_money(now.net_savings - before.net_savings, cur),
                help="Manual cost avoided minus platform cost; failed runs save nothing")  # fmt: skip
roi_delta = (None if now.roi_percent is None or before.roi_percent is None
             else f"{float(now.roi_percent - before.roi_percent):+,.0f} pts")  # fmt: skip
tiles[1].metric("ROI", percent(now.roi_percent) if now.roi_percent is not None else "n/a",
                delta=roi_delta, border=True,
                help="Net savings / platform cost" if now.roi_percent is not None else
                "No platform cost is attributed in this period: import FOCUS costs "
                "(`flowmeter import costs`) or set FLOWMETER_PRICING_FILE")  # fmt: skip
tiles[2].metric("Payback", "not yet" if payback is None else
                f"{payback} day{'s' if payback != 1 else ''}", border=True,
                help="Days from the period start until cumulative net savings are positive")  # fmt: skip
tiles[3].metric("Hours saved", f"{float(now.hours_saved):,.0f} h", border=True,
                delta=f"{float(now.hours_saved - before.hours_saved):+,.0f} h")  # fmt: skip
tiles[4].metric("Transactions", f"{now.volume:,}", border=True,
                delta=f"{now.volume - before.volume:+,}",
                help=f"Automated runs that completed; {now.excluded_runs:,} failed or unfinished "
                "runs are not counted")  # fmt: skip
st.caption(f"Deltas compare with the previous period of the same length "
           f"({prev_start:%Y-%m-%d %H:%M} – {prev_end:%Y-%m-%d %H:%M} UTC). Baselines used: "
           f"{', '.join(now.baselines)}.")  # fmt: skip
if len(now.currencies) > 1:
    st.warning(f"Figures come in {', '.join(now.currencies)}; the tiles show {cur} only.")

tiles_now = data.kpi_tiles(f.start, f.end, f.workflow, ctx.tenants)
if tiles_now:
    st.subheader("Business outcomes")
    row = st.columns(min(len(tiles_now), 5))
    for n, tile in enumerate(tiles_now[:5]):
        value, delta = kpi_tiles.tile_text(tile, cur)
        goal = "" if tile.kpi.target is None else f"Target {tile.kpi.target:,g}. "
        row[n].metric(tile.kpi.label, value, delta=delta, border=True,
                      delta_color="normal" if tile.kpi.direction == "up" else "inverse",
                      help=f"{goal}From the KPI catalog (FLOWMETER_RULES_FILE or the store's)")  # fmt: skip

left, right = st.columns([3, 2])
with left:
    st.subheader("Savings vs platform cost")
    by_day = data.roi_by_day(daily)
    if by_day.empty:
        st.caption("No daily figures in this period.")
    else:
        st.plotly_chart(charts.savings_figure(by_day, cur), width="stretch", key="savings")
with right:
    st.subheader("Automations ranked by net savings")
    st.caption("Top: double down. Bottom or red: prune or fix.")
    st.plotly_chart(charts.ranking_figure(report, cur), width="stretch", key="ranking")

left, right = st.columns([3, 2])
with left:
    st.subheader("Estimated vs actual savings")
    st.caption("Estimated: what the baseline promises for every run attempted. Actual: completed "
               "runs, minus the cost of fixing failed ones by hand.")  # fmt: skip
    st.plotly_chart(charts.estimated_actual_figure(report, cur), width="stretch", key="est")
with right:
    st.subheader("Before / after go-live")
    workflows = sorted(set(report["workflow"]))
    chosen = f.workflow or st.selectbox("Workflow", workflows, key="ba_workflow")
    metrics = {"cycle_time_ms": "Cycle time (ms)", "error_rate": "Error rate",
               "cost_per_transaction": "Cost per transaction"}  # fmt: skip
    metric = st.segmented_control("Measure", list(metrics), format_func=lambda m: metrics[m],
                                  default="cycle_time_ms", key="ba_metric") or "cycle_time_ms"  # fmt: skip
    result = data.before_after(str(chosen), str(metric), ctx.tenants)
    if result.conclusion == "not enough data":
        st.markdown(f"**{metrics[metric]}**: not enough data. {result.explanation}")
    else:
        st.markdown(
            f"**{metrics[metric]}**: {result.mean_before:,.4g} before → {result.mean_after:,.4g} "
            f"after go-live: **{result.conclusion}** ({result.confidence:.0%} interval of the "
            f"change {result.ci_low:,.4g} to {result.ci_high:,.4g})"
        )
st.page_link("views/baselines.py", label="Baselines behind these figures",
             icon=":material/tune:")  # fmt: skip
