"""Operations: the dead-letter queue with audited replay, approvals, the audit log, breakers,
and ingest segments set aside in quarantine."""

from __future__ import annotations

import streamlit as st

from app import actions, charts, data, formatting, frame
from app.access import allowed
from models.errors import FlowmeterError

ctx = frame.context()
f = ctx.filters
frame.header("Operations", ctx, applies="live state of the engine; the period does not apply")
settings = frame.settings()
can_replay = allowed(ctx.user, "dead_letter.replay")
can_decide = allowed(ctx.user, "approval.decide")

# Quarantined ingest segments hold every tenant's data: only readers of all tenants see them.
see_ingest = ctx.tenants is None
dead, approvals_tab, audit_tab, breakers_tab, *ingest_tab = st.tabs(
    ["Dead letters", "Waiting approvals", "Audit log", "Circuit breakers"]
    + (["Ingest quarantine", "Storage"] if see_ingest else [])
)
quarantine_tabs, storage_tabs = ingest_tab[:1], ingest_tab[1:]

with dead:
    left, middle, right = st.columns([2, 2, 1])
    reason = left.selectbox("Reason", ["", "retries_exhausted", "poison", "approval_timeout",
                            "compensated"], format_func=lambda r: r or "every reason")  # fmt: skip
    state = middle.selectbox("State", ["waiting", "replayed", "all"], key="dlq_state")
    replayed = {"waiting": False, "replayed": True, "all": None}[str(state)]
    letters = data.dead_letters(ctx.tenants, f.workflow, str(reason), replayed)
    right.metric("Shown", len(letters))
    if letters.empty:
        st.success("No dead letters match. Nothing is waiting for a human.")
    else:
        columns = ["id", "workflow", "reason", "attempts", "step", "quarantined_at",
                   "correlation_id", "tenant_id", "error", "replayed_by", "replay_reason"]  # fmt: skip
        st.dataframe(letters[columns], hide_index=True, width="stretch")
        ids = [int(i) for i in letters["id"]]
        chosen = st.selectbox("Inspect a dead letter", ids, format_func=lambda i: f"#{i}")
        letter = data.dead_letter(int(chosen or ids[0]))
        st.markdown(f"**#{letter['id']} · {letter['workflow']} · failed at step "
                    f"`{letter['step']}` after {letter['attempts']} attempts** — {letter['error']}")  # fmt: skip
        st.page_link("views/traces.py", label=f"Trace of correlation {letter['correlation_id']}",
                     icon=":material/search:",
                     query_params={"correlation": letter["correlation_id"]})  # fmt: skip
        st.markdown("Payload (sensitive fields redacted)")
        st.json(actions.redact(letter["payload"], settings.redact_keys), expanded=True)
        if letter["replayed_at"] is not None:
            st.info(f"Replayed by {letter['replayed_by']}: {letter['replay_reason']}")
        else:
            with st.form("replay", clear_on_submit=False):
                st.markdown("**Replay** re-enters the run at its failed step; completed steps "
                            "and idempotency keys are kept, so side effects do not repeat.")  # fmt: skip
                why = st.text_area("Reason (written to the audit log)", key="replay_reason")
                sure = st.checkbox(f"I confirm: replay dead letter #{letter['id']}",
                                   key="replay_confirm")  # fmt: skip
                go = st.form_submit_button("Replay", type="primary", disabled=not can_replay)
            if not can_replay:
                st.caption(f"Your role ({ctx.user.role}) may not replay.")
            if go:
                api = data.engine_api()
                refused = api.telemetry.log_export_failures if api.telemetry else 0
                try:
                    actions.replay_dead_letter(api, ctx.user, int(letter["id"]), why,
                                               confirmed=sure)  # fmt: skip
                except (FlowmeterError, ValueError) as exc:
                    st.error(str(exc))
                else:
                    st.success(f"Dead letter #{letter['id']} replayed; the audit log has it.")
                    if api.telemetry and api.telemetry.log_export_failures > refused:
                        st.warning("The replay event did not reach the receiver: the "
                                   "Trace Explorer will not list this replay.")  # fmt: skip

with approvals_tab:
    waiting = data.pending_approvals(ctx.tenants)
    if waiting.empty:
        st.success("No run is waiting for an approval.")
    else:
        st.dataframe(waiting, hide_index=True, width="stretch")
        run_id = st.selectbox("Decide on", list(waiting["run_id"]))
        with st.form("decide"):
            why = st.text_input("Reason (written to the audit log)", key="decision_reason")
            approve_col, reject_col = st.columns(2)
            approve = approve_col.form_submit_button("Approve", disabled=not can_decide)
            reject = reject_col.form_submit_button("Reject", disabled=not can_decide)
        if approve or reject:
            try:
                name = actions.decide_approval(data.engine_api(), ctx.user, str(run_id),
                                               "approve" if approve else "reject", why)  # fmt: skip
            except (FlowmeterError, ValueError) as exc:
                st.error(str(exc))
            else:
                st.success(f"{'Approved' if approve else 'Rejected'} {name} of run {run_id}.")

with audit_tab:
    audit = data.audit_log(ctx.tenants)
    if audit.empty:
        st.caption("Nothing audited yet.")
    else:
        st.dataframe(audit, hide_index=True, width="stretch")

with breakers_tab:
    breakers = data.breakers()
    if breakers.empty:
        st.caption("No circuit breaker has changed state yet.")
    else:
        st.dataframe(breakers, hide_index=True, width="stretch")

for tab in quarantine_tabs:
    with tab:
        segments = data.quarantined_segments()
        if segments.empty:
            st.success("No ingest segment is quarantined: everything received is stored.")
        else:
            st.warning(f"{len(segments)} WAL segment(s) ClickHouse kept refusing for their "
                       "content were set aside; later data went in.")  # fmt: skip
            st.dataframe(segments, hide_index=True, width="stretch")
            st.caption("To retry one after fixing the cause, move it back into "
                       "`<data dir>/wal/<signal>/` and restart the collectors.")  # fmt: skip

for tab in storage_tabs:
    with tab:
        used = data.storage()
        for disk in used.disks.to_dict("records"):
            free, total = int(disk["free_bytes"]), int(disk["total_bytes"])
            share = 1 - free / total if total else 0.0
            st.progress(min(max(share, 0.0), 1.0),
                        text=f"Disk `{disk['disk']}`: {formatting.size(free)} free of "
                             f"{formatting.size(total)}")  # fmt: skip
        if used.tables.empty:
            st.caption("The store has no tables yet.")
        else:
            stale = used.tables[~used.tables["applied"]]
            if not stale.empty:
                st.warning("Retention differs from FLOWMETER_RETENTION_DAYS for "
                           f"{', '.join(stale['table'])}: it is applied at the next start "
                           "or by `flowmeter retention apply`.")  # fmt: skip
            shown = used.tables.assign(size=used.tables["bytes"].map(formatting.size))
            st.dataframe(shown[["table", "group", "keeps", "size", "rows", "oldest_partition"]],
                         hide_index=True, width="stretch")  # fmt: skip
        if not used.partitions.empty:
            st.plotly_chart(charts.storage_by_partition(used.partitions), width="stretch")
        st.caption("Retention is FLOWMETER_RETENTION_DAYS (days per group or table, 0 keeps "
                   "forever); ClickHouse drops expired days in the background.")  # fmt: skip
