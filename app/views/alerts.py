"""Alerts: what fires now, each rule's last evaluation and value per group, the history of
every change, silences and acknowledgements (who, why, until when), a test notification."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from app import actions, data, frame
from app.access import allowed
from models.db import current_store
from models.errors import FlowmeterError

DURATIONS = {"1 hour": timedelta(hours=1), "4 hours": timedelta(hours=4),
             "1 day": timedelta(days=1), "1 week": timedelta(days=7)}  # fmt: skip
KINDS = {"silence": "Silence (no notification until it ends)",
         "ack": "Acknowledge (someone is on it; notifications continue)"}  # fmt: skip


def _md(text: object) -> str:
    """Telemetry text shown in Markdown as itself, never as markup or a link."""
    special = "\\`*_{}[]<>()#+-.!|~$:"
    return "".join("\\" + c if c in special else c for c in str(text)).replace("\n", " ")


_DONE = "_alerts_done"  # what the last save did, shown after the rerun that displays it

ctx = frame.context()
f = ctx.filters
frame.header("Alerts", ctx, applies="firing and rules are live; the period applies to history")
settings = frame.settings()
can_silence = allowed(ctx.user, "alert.silence")
can_test = allowed(ctx.user, "alert.test")

try:
    rules = data.alert_rules()
except FlowmeterError as exc:
    st.error(f"The alert rules file cannot be used: {exc}")
    rules = []
states = data.alert_states(ctx.tenants)
silences = data.alert_silences(f.start, ctx.tenants)
in_force = silences[silences["in_force"]] if not silences.empty else silences
rule_table = data.alert_rule_table(states, ctx.tenants)

firing_tab, rules_tab, history_tab, silences_tab, test_tab = st.tabs(
    ["Firing now", "Rules", "History", "Silences and acknowledgements", "Test notification"]
)

with firing_tab:
    firing = states[states["state"] == "firing"] if not states.empty else states
    st.metric("Firing", len(firing))
    if firing.empty:
        st.success("Nothing is firing.")
    else:
        latest = in_force.drop_duplicates(["fingerprint", "kind"]) if not in_force.empty else None
        shown = firing.copy()
        for kind, column in (("silence", "silenced_until"), ("ack", "acknowledged_by")):
            picked = (latest[latest["kind"] == kind].set_index("fingerprint")
                      if latest is not None else pd.DataFrame())  # fmt: skip
            value = "until" if kind == "silence" else "actor"
            shown[column] = [
                picked.loc[fp, value] if fp in picked.index else None for fp in shown["fingerprint"]
            ]
        st.dataframe(
            shown[["rule", "group", "tenant", "value", "fired_at", "evaluated_at",
                   "silenced_until", "acknowledged_by"]],
            hide_index=True, width="stretch",
        )  # fmt: skip

    st.subheader("Silence or acknowledge")
    if _DONE in st.session_state:
        st.success(st.session_state.pop(_DONE))
    if states.empty:
        st.caption("No alert has been evaluated yet.")
    else:
        choices = {str(r.fingerprint): f"{r.rule} · {r.group} · {r.state}"
                   for r in states.itertuples()}  # fmt: skip
        with st.form("silence", clear_on_submit=False):
            chosen = st.selectbox("Alert", list(choices), format_func=lambda k: choices[k])
            kind = st.radio("What", list(KINDS), format_func=lambda k: KINDS[k], horizontal=True)
            duration = st.selectbox("For", list(DURATIONS))
            why = st.text_area("Reason (kept with who and until when)", key="silence_reason")
            go = st.form_submit_button("Save", type="primary", disabled=not can_silence)
        if not can_silence:
            st.caption(f"Your role ({ctx.user.role}) may read alerts; engineers and admins "
                       "silence and acknowledge them.")  # fmt: skip
        if go:
            try:
                done = actions.silence_alert(
                    current_store(), ctx.user, {r.name: r for r in rules}, str(chosen),
                    str(kind), why, DURATIONS[str(duration)],
                )  # fmt: skip
            except (FlowmeterError, ValueError) as exc:
                st.error(str(exc))
            else:
                data.alert_silences.clear()
                word = "silenced" if done.kind == "silence" else "acknowledged"
                st.session_state[_DONE] = (f"{_md(done.rule)} {word} by {_md(done.actor)} "
                                           f"until {done.until:%Y-%m-%d %H:%M} UTC.")  # fmt: skip
                st.rerun()  # the tables above read before the save: show it at once

with rules_tab:
    if rules and rule_table.empty:
        st.caption("No configured rule applies to your tenants.")
    elif rule_table.empty:
        st.info("No alert rules are configured: set FLOWMETER_ALERT_RULES_FILE to a rules file "
                "(see the README, Alerting; `flowmeter alerts check FILE` validates one).")  # fmt: skip
    else:
        st.dataframe(rule_table, hide_index=True, width="stretch")

with history_tab:
    names = sorted(set(rule_table["rule"]) | set(states["rule"]))
    rule = st.selectbox("Rule", ["", *names], format_func=lambda n: n or "every rule")
    changes = data.alert_history(str(rule or ""), f.start, ctx.tenants)
    if changes.empty:
        st.caption("No state change in this period.")
    else:
        st.dataframe(changes, hide_index=True, width="stretch")

with silences_tab:
    if silences.empty:
        st.caption("No silence or acknowledgement in this period, and none in force.")
    else:
        st.dataframe(silences.drop(columns=["fingerprint"]), hide_index=True, width="stretch")

with test_tab:
    st.markdown("Sends one test alert (`FlowmeterTestNotification`, severity info) through "
                "every configured channel: Alertmanager (it ends by itself five minutes later), "
                "the webhook, Slack and e-mail.")  # fmt: skip
    test = st.button("Send a test notification", disabled=not can_test, key="alert_test")
    if not can_test:
        st.caption(f"Your role ({ctx.user.role}) may not send notifications.")
    if test:
        try:
            outcomes = actions.send_test_alert(settings, current_store(), ctx.user)
        except FlowmeterError as exc:
            st.error(str(exc))
        else:
            if not outcomes:
                st.warning("No channel is configured: set FLOWMETER_ALERTMANAGER_URL, "
                           "FLOWMETER_ALERT_WEBHOOK_URL, FLOWMETER_ALERT_SLACK_URL or "
                           "FLOWMETER_SMTP_URL with FLOWMETER_ALERT_EMAIL_TO.")  # fmt: skip
            for outcome in outcomes:
                line = f"{outcome.channel} ({_md(outcome.target)}): {outcome.status}"
                if outcome.status == "sent":
                    st.success(line)
                else:
                    st.error(f"{line} after {outcome.attempts} attempt(s): {_md(outcome.error)}")
