"""Trace Explorer: find a flow by correlation, trace, entity id or attribute; see all of it."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from app import charts, data, frame
from app.filters import bounded_window
from app.formatting import md_code, md_literal

ctx = frame.context()
f = ctx.filters
frame.header("Trace Explorer", ctx, applies="attribute search covers the period above")

KINDS = {
    "correlation": "Correlation ID",
    "trace": "Trace ID",
    "entity": "Entity ID (order, invoice, lead …)",
    "attr": "Attribute key=value",
}
current_kind: str = next((k for k in KINDS if st.query_params.get(k)), "correlation")
current_value = str(st.query_params.get(current_kind, ""))

with st.form("trace-search", border=True):
    left, right = st.columns([1, 3])
    kind = left.selectbox("Search by", list(KINDS), index=list(KINDS).index(current_kind),
                          format_func=lambda k: KINDS[k])  # fmt: skip
    value = right.text_input("Value", value=current_value,
                             placeholder="e.g. 3f9c2a1e-… or entity.id=ORD-1001")  # fmt: skip
    searched = st.form_submit_button("Search", type="primary")
if searched:
    for key in KINDS:
        st.query_params.pop(key, None)
    if value.strip():
        st.query_params[str(kind)] = value.strip()
    st.rerun()


def _window() -> tuple[datetime, datetime]:
    """The attribute search window: from_ts/to_ts (from a System Health click) or the period."""
    try:
        start = datetime.fromisoformat(str(st.query_params.get("from_ts", "")))
        end = datetime.fromisoformat(str(st.query_params.get("to_ts", "")))
    except ValueError:
        return f.start, f.end
    start, end, cut = bounded_window(start.replace(tzinfo=None), end.replace(tzinfo=None),
                                     datetime.now(UTC), frame.settings().dashboard_max_days)  # fmt: skip
    if cut:
        st.warning(md_literal(f"from_ts/to_ts: {cut}"))
    return start, end


def _codes(values: pd.Series) -> str:
    """Distinct non-empty ids as code spans (telemetry values never render as Markdown)."""
    return ", ".join(md_code(v) for v in sorted(set(values) - {""})) or "–"


def show_drilldown(kind: str, key: str) -> None:
    found = data.drilldown(kind, key, ctx.tenants)
    for note in found.notes:
        st.caption(f":material/info: {md_literal(note)}")
    if not found.found:
        st.warning(f"Nothing found for {KINDS[kind].split(' (')[0].lower()} {md_code(key)}.")
        return
    keys = found.keys
    if not keys.empty:
        st.markdown(
            f"**Correlation** {_codes(keys['correlation_id'])} · "
            f"**tenant** {_codes(keys['tenant'])} · "
            f"**traces** {keys['trace_id'].nunique()}"
        )
    spans = found.spans
    if spans.empty:
        st.info("The key is known, but its spans are outside the store's retention.")
    else:
        trace_ids = list(dict.fromkeys(spans["trace_id"]))
        trace_id = st.selectbox("Trace", trace_ids) if len(trace_ids) > 1 else trace_ids[0]
        trace = spans[spans["trace_id"] == trace_id].sort_values("timestamp")
        st.subheader(f"Trace {md_code(trace_id)}")
        st.caption("Green: ok · orange ×: failed and retried · red: failed")
        st.plotly_chart(charts.waterfall(trace), width="stretch", key="waterfall")
        labels = [f"{i + 1}. {s.span_name} ({s.service}, {s.duration_ms:.0f} ms, {s.status_code})"
                  for i, s in enumerate(trace.itertuples(index=False))]  # fmt: skip
        picked = st.selectbox("Span details", range(len(labels)), format_func=lambda i: labels[i])
        span = trace.iloc[int(picked or 0)]
        left, right = st.columns(2)
        left.markdown("**Attributes**")
        left.json(dict(span["attributes"]), expanded=True)
        right.markdown("**Events**")
        events = pd.DataFrame({"time": list(span["event_times"]), "name": list(span["event_names"]),
                               "attributes": [dict(a) for a in span["event_attributes"]]})  # fmt: skip
        if events.empty:
            right.caption("No span events.")
        else:
            right.dataframe(events, hide_index=True, width="stretch")
    tabs = st.tabs([f"Logs ({len(found.logs)})", f"KPI events ({len(found.kpi_events)})",
                    f"Dead letters and replays ({len(found.dead_letters)})", "Cost"])  # fmt: skip
    for tab, table, empty in (
        (tabs[0], found.logs, "No logs for this flow."),
        (tabs[1], found.kpi_events, "No KPI events for this flow."),
        (tabs[2], found.dead_letters, "Never dead-lettered."),
        (tabs[3], found.cost, "No attributed cost."),
    ):
        with tab:
            if table.empty:
                st.caption(empty)
            else:
                st.dataframe(table, hide_index=True, width="stretch")


if current_kind == "attr" and current_value:
    attr_key, sep, attr_value = current_value.partition("=")
    if not sep or not attr_key.strip():
        st.error("Attribute search needs key=value, e.g. entity.id=ORD-1001")
        st.stop()
    start, end = _window()
    results = data.search_spans(attr_key.strip(), attr_value.strip(), start, end, 100, ctx.tenants)
    st.caption(f"{len(results)} spans with {md_code(attr_key.strip())} = "
               f"{md_code(attr_value.strip())} between "
               f"{start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M} UTC (newest first, at most 100)")  # fmt: skip
    if results.empty:
        st.info("No span matches. Widen the period in the sidebar, or check the key.")
        st.stop()
    results = results.assign(failed=results["status_code"].isin(["Error", "STATUS_CODE_ERROR"]))
    results = results.sort_values(["failed", "timestamp"], ascending=[False, False])
    st.dataframe(results, hide_index=True, width="stretch")
    options = list(dict.fromkeys(results["trace_id"]))
    described = {str(r["trace_id"]): f"{r['timestamp']:%m-%d %H:%M:%S} {r['span_name']} "
                 f"{r['status_code']} ({r['correlation_id'] or r['trace_id'][:12]})"
                 for r in results.to_dict("records")}  # fmt: skip
    chosen = st.selectbox("Open a trace", options, format_func=lambda t: described[str(t)], index=None,
                          placeholder="Choose a trace from the results")  # fmt: skip
    if chosen:
        show_drilldown("trace", str(chosen))
elif current_value:
    show_drilldown(current_kind, current_value)
else:
    st.info(
        "Search by a correlation ID, a trace ID, a business entity ID, or any span attribute "
        "(`entity.id=ORD-1001`, `run.outcome=dead_lettered`). System Health links land here."
    )
