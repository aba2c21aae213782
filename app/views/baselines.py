"""Baselines: the manual-process figures behind every ROI number, versioned, with who and why."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

import pandas as pd
import streamlit as st

from app import actions, data, frame
from app.access import allowed
from app.formatting import md_code, md_literal
from models.db import current_store
from models.errors import FlowmeterError


def _go_live(previous: dict[str, object] | None) -> datetime | None:
    """A new version keeps the go-live date of the one it replaces."""
    moment = previous.get("go_live_at") if previous else None
    if not isinstance(moment, datetime) or pd.isna(moment):  # NaT is a datetime too
        return None
    return pd.Timestamp(moment).to_pydatetime()


ctx = frame.context()
f = ctx.filters
frame.header("Baselines", ctx, applies="baselines are per workflow; period and tenant do not apply")
can_change = allowed(ctx.user, "baseline.change")

history = data.baseline_history(f.workflow)
if history.empty:
    st.info("No baseline yet. Without one, ROI cannot price the manual work a run replaces: "
            "set one below or with `flowmeter baseline set WORKFLOW ...`.")  # fmt: skip
else:
    current = history.sort_values("version").groupby("workflow", as_index=False).tail(1)
    st.subheader("In effect now")
    st.dataframe(current, hide_index=True, width="stretch")
    st.subheader("History")
    st.dataframe(history.sort_values(["workflow", "version"], ascending=[True, False]),
                 hide_index=True, width="stretch")  # fmt: skip

seen = data.workflow_list(f.start, f.end, ctx.tenants)
if not seen.empty:
    st.subheader("Workflows seen in the period")
    st.caption("Native and recognized (source: the profile or rule that recognized them, "
               "`flowmeter workflows`); one without a baseline gets its first version below.")  # fmt: skip
    st.dataframe(seen, hide_index=True, width="stretch")

st.subheader("Record a new version")
if not can_change:
    st.caption(f"Your role ({ctx.user.role}) may read baselines; finance and admin change them.")
known = sorted(set(history["workflow"]) if not history.empty else set())
# Workflows without a baseline first: a newly recognized one is one pick away.
known = sorted(set(seen["workflow"]) - set(known)) + known if not seen.empty else known
latest = (history.sort_values("version").groupby("workflow").tail(1).set_index("workflow")
          if not history.empty else None)  # fmt: skip
workflow = st.selectbox("Workflow (pick one, or type a new name)", known,
                        accept_new_options=True, index=0 if known else None)  # fmt: skip
base: dict[str, object] | None = (
    {str(k): v for k, v in latest.loc[workflow].to_dict().items()}
    if latest is not None and workflow in latest.index
    else None
)
with st.form("baseline", border=True):
    left, middle, right = st.columns(3)
    minutes = left.number_input("Manual minutes per transaction", min_value=0.0,
                                value=float(str(base["manual_minutes"])) if base is not None else 10.0)  # fmt: skip
    rate = middle.number_input("Loaded hourly rate", min_value=0.0,
                               value=float(str(base["hourly_rate"])) if base is not None else 50.0)  # fmt: skip
    currency = right.text_input(
        "Currency", value=str(base["currency"]) if base is not None else "EUR"
    )
    error_rate = left.number_input("Manual error rate (0–1)", min_value=0.0, max_value=1.0,
                                   value=float(str(base["manual_error_rate"])) if base is not None else 0.02,
                                   format="%.4f")  # fmt: skip
    per_error = middle.number_input("Cost per manual error", min_value=0.0,
                                    value=float(str(base["cost_per_error"])) if base is not None else 25.0)  # fmt: skip
    effective = right.date_input("Effective from (UTC)", value=datetime.now(UTC).date())
    reason = st.text_area("Reason for the change (kept in the history)")
    submitted = st.form_submit_button("Save new version", type="primary", disabled=not can_change)
if submitted:
    try:
        saved = actions.change_baseline(
            current_store(), ctx.user, str(workflow or ""),
            manual_minutes=Decimal(str(minutes)), hourly_rate=Decimal(str(rate)),
            manual_error_rate=Decimal(str(error_rate)), cost_per_error=Decimal(str(per_error)),
            currency=currency, reason=reason,
            effective_from=datetime.combine(effective, time()),
            go_live_at=_go_live(base),
        )  # fmt: skip
    except (FlowmeterError, ValueError) as exc:
        st.error(md_literal(exc))
    else:
        data.baseline_history.clear()
        data.roi.clear()
        data.roi_daily.clear()
        st.success(
            f"{md_code(saved.workflow)} baseline v{saved.version} saved by "
            f"{md_code(saved.changed_by)}."
        )
