"""Cost Attribution: who caused which cost, how shared cost was split, and the reports to send."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pandas as pd
import streamlit as st
from great_tables import GT

from app import data, frame
from app.access import allowed
from app.cost_upload import import_uploaded_costs
from app.formatting import money
from models.db import current_store
from models.errors import FlowmeterError

ctx = frame.context()
f = ctx.filters
frame.header("Cost Attribution", ctx,
             applies=f"shared-cost policy: {data.POLICY}; periods are whole UTC days")  # fmt: skip
GROUPS = {"tenant": "Tenant", "product_line": "Product line", "workflow": "Workflow"}
first_day = f.start.date()
end_day = (f.end - timedelta(seconds=1)).date() + timedelta(days=1)


def _upload_section() -> None:
    with st.expander("Import a FOCUS cost file", icon=":material/upload_file:"):
        if not allowed(ctx.user, "costs.import"):
            st.caption(f"Your role ({ctx.user.role}) reads costs; finance and admin import them.")
            return
        st.caption("FOCUS 1.0–1.3 as clouds export it: CSV (plain or .gz) or Parquet; several "
                   "files = the parts of one export, with or without its manifest. Importing "
                   "the same file twice changes nothing.")  # fmt: skip
        files = st.file_uploader("Cost file(s)", type=["csv", "gz", "parquet", "json", "txt"],
                                 accept_multiple_files=True, key="cost_upload")  # fmt: skip
        skip_bad = st.checkbox("Skip bad rows (they are listed) and import the others",
                               key="cost_upload_skip_bad")  # fmt: skip
        if not st.button("Import", type="primary", disabled=not files, key="cost_upload_go"):
            return
        with st.status("Importing the cost file…", expanded=True) as status:
            bar = st.progress(0.0, text="reading")

            def progress(stage: str, done: int, total: int) -> None:
                bar.progress(min(done / total, 1.0) if total else 0.0,
                             text=f"{stage}: {done:,} of {total:,} rows")  # fmt: skip

            try:
                result = import_uploaded_costs(
                    current_store(), ctx.user, [(f.name, f.getvalue()) for f in files or []],
                    tag_keys=frame.settings().cost_tag_keys, skip_bad=skip_bad,
                    progress=progress,
                )  # fmt: skip
            except FlowmeterError as exc:
                status.update(label="The file was refused; nothing was imported", state="error")
                st.error("The file was refused; nothing was imported.")
                st.code(str(exc), language=None)  # file content: shown as text, never markdown
                return
            status.update(label="Cost file imported", state="complete")
        st.cache_data.clear()  # every cost figure on the pages may have changed
        st.success(f"Imported: {result.rows:,} row(s) stored.")
        lines = [*(result.report.lines() if result.report else []), result.summary()]
        st.code("\n".join(lines), language=None)


_upload_section()
by = st.segmented_control("Attribute cost by", list(GROUPS), format_func=lambda g: GROUPS[g],
                          default="tenant", key="cost_by") or "tenant"  # fmt: skip
costs = data.attributed_costs(first_day, end_day, by, False, ctx.tenants)
if costs.empty:
    frame.empty_state("cost records")
    st.stop()
totals = data.cost_totals(costs)
cur = totals.currency
tiles = st.columns(4)
tiles[0].metric("Effective cost", money(totals.effective_cost, cur, decimals=2), border=True,
                help=f"Billed: {money(totals.billed_cost, cur, decimals=2)}")  # fmt: skip
tiles[1].metric("Directly attributed", money(totals.direct_cost, cur, decimals=2), border=True)
tiles[2].metric("Shared, allocated", money(totals.shared_allocated, cur, decimals=2),
                border=True, help=f"Policy: {data.POLICY}")  # fmt: skip
tiles[3].metric("Unallocated / idle", money(totals.unallocated, cur, decimals=2), border=True,
                help="Cost nothing could carry; never spread silently")  # fmt: skip

label = GROUPS[by].lower()
shown = costs.assign(
    **{by: costs[by].where(costs[by] != "", "(unallocated)"),
       "billed_cost": costs["billed_cost"].astype(float),
       "effective_cost": costs["effective_cost"].astype(float)}
)  # fmt: skip
showback, chargeback = st.tabs(["Showback", "Chargeback"])
with showback:
    table = (
        GT(shown[[by, "allocation_method", "currency", "effective_cost", "billed_cost"]],
           groupname_col=by)
        .tab_header(title=f"Showback by {label}", subtitle=f"{first_day} – "
                    f"{end_day - timedelta(days=1)} · shared-cost policy: {data.POLICY}")
        .cols_label(allocation_method="allocation", effective_cost="effective cost",
                    billed_cost="billed cost")
        .fmt_number(columns=["effective_cost", "billed_cost"], decimals=2)
        .tab_source_note(f"Total effective cost {money(totals.effective_cost, cur, decimals=2)}; "
                         "rows add up to the imported total.")
    )  # fmt: skip
    st.html(table.as_raw_html())
with chargeback:
    charged = shown[shown[by] != "(unallocated)"]
    table = (
        GT(charged[[by, "currency", "billed_cost", "allocation_method"]], rowname_col=by)
        .tab_header(title=f"Chargeback by {label}", subtitle="What each one is billed")
        .cols_label(billed_cost="billed cost", allocation_method="basis")
        .fmt_number(columns=["billed_cost"], decimals=2)
        .tab_source_note(f"Not charged to anyone (unallocated): "
                         f"{money(totals.unallocated, cur, decimals=2)}")
    )  # fmt: skip
    st.html(table.as_raw_html())

st.subheader("Download the report")
columns = st.columns(4)
for column, fmt, mime in zip(columns, ("csv", "xlsx", "parquet", "html"),
                             ("text/csv", "application/vnd.openxmlformats-officedocument."
                              "spreadsheetml.sheet", "application/vnd.apache.parquet",
                              "text/html"), strict=True):  # fmt: skip
    column.download_button(
        f"{fmt.upper()}", data=partial(data.cost_export, first_day, end_day, by, fmt, ctx.tenants),
        on_click="ignore",
        file_name=f"flowmeter-costs-by-{by}-{first_day}-{end_day}.{fmt}", mime=mime,
        key=f"download_{fmt}", icon=":material/download:", width="stretch",
    )  # fmt: skip

st.subheader(f"Unit cost per transaction, by {label}")
units = data.unit_economics(first_day, end_day, by, ctx.tenants)
if units.empty:
    st.caption("No cost and no transactions to divide in this period.")
else:
    pivot = units.assign(day=pd.to_datetime(units["day"])).pivot_table(
        index="day", columns="key", values="cost_per_transaction", aggfunc="first"
    )
    st.line_chart(pivot, height=260)
    st.dataframe(units, hide_index=True, width="stretch")
