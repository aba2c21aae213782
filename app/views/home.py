"""Overview: what the store holds right now."""

from __future__ import annotations

import streamlit as st

from app.data import table_rows

st.title("Flowmeter")
st.caption("Observability and ROI for your business workflow automations.")

rows = table_rows()
total = int(rows["rows"].sum()) if not rows.empty else 0
if total == 0:
    st.info(
        "The store is empty. Send OpenTelemetry data to the OTLP receivers, or run "
        "`flowmeter demo --days 14` (or `make run`) to fill it with demo history."
    )
st.metric("Rows stored", f"{total:,}")
st.dataframe(rows, hide_index=True, use_container_width=True)
