"""Alert evaluation inside ``flowmeter up`` (or ``flowmeter alerts run``): each rule on its
interval, state and history in the store, notifications to every configured receiver."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from app.alerts import notify
from app.delivery import (
    AlertmanagerChannel,
    Channel,
    DeliveryLog,
    Notification,
    SmtpChannel,
    WebhookChannel,
    deliver,
)
from models.alerts.context import affected_runs
from models.alerts.evaluate import evaluate_rule, window_of
from models.alerts.history import load_states, record_transitions, save_states
from models.alerts.measures import MeasureContext
from models.alerts.rules import Rule
from models.alerts.state import AlertState, Transition
from models.db import Store
from models.settings import Settings
from orchestrator.policy import RetryPolicy

__all__ = ["AlertService", "direct_channels"]

logger = logging.getLogger(__name__)

# Alertmanager is re-sent every evaluation anyway: a short retry, never a long stall.
_RESEND = RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=2.0)


def direct_channels(settings: Settings) -> list[tuple[str, Channel]]:
    """(payload kind, channel) for every receiver configured besides Alertmanager."""
    found: list[tuple[str, Channel]] = []
    if settings.alert_webhook_url:
        found.append(("v4", WebhookChannel(settings.alert_webhook_url)))
    if settings.alert_slack_url:
        found.append(("slack", WebhookChannel(settings.alert_slack_url, name="slack")))
    if settings.smtp_url and settings.alert_email_to:
        email = SmtpChannel(settings.smtp_url, settings.smtp_from, settings.alert_email_to)
        found.append(("email", email))
    return found


class AlertService:
    """Evaluates the rules when due; one instance per store (the embedded store's lock, or a
    lease in server mode, keeps it to one)."""

    name = "alerts"

    def __init__(
        self,
        settings: Settings,
        store: Store,
        rules: Sequence[Rule],
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings, self.store, self.rules = settings, store, list(rules)
        self.by_name = {rule.name: rule for rule in self.rules}
        self.clock, self.sleep = clock, sleep
        self.context = MeasureContext(
            store,
            slo_success_target=settings.slo_success_target,
            policy=settings.cost_allocation_policy,
            weights=dict(settings.cost_allocation_weights),
        )
        self.states: dict[str, AlertState] | None = None
        self.contexts: dict[str, dict[str, str]] = {}  # fingerprint -> business annotations
        self.next_due: dict[str, datetime] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Direct channels retry for up to a minute: they send from here, never from the loop.
        self._senders = ThreadPoolExecutor(max_workers=4, thread_name_prefix="alert-send")
        self._pending: list[Future[object]] = []

    def flush(self, timeout: float = 60.0) -> bool:
        """Wait until every notification handed to a direct channel is sent or given up."""
        _, not_done = wait(self._pending, timeout=timeout)
        self._pending = list(not_done)
        return not not_done

    def now(self) -> datetime:
        """The service clock as an aware UTC datetime."""
        return datetime.fromtimestamp(self.clock(), UTC)

    def evaluate(self, now: datetime | None = None, *, force: bool = False) -> list[Transition]:
        """Evaluate every rule that is due (or all with ``force``); notify; return the changes."""
        moment = now or self.now()
        if self.states is None:
            self.states = load_states(self.store)  # a restart picks up where it stopped
        transitions: list[Transition] = []
        for rule in self.rules:
            if not force and self.next_due.get(rule.name, moment) > moment:
                continue
            self.next_due[rule.name] = moment + rule.interval
            new_states, changed = evaluate_rule(self.context, rule, self.states, moment)
            save_states(self.store, new_states)
            record_transitions(self.store, self.by_name, changed)
            for state in new_states:
                self.states[state.fingerprint] = state
            self._notify(rule, new_states, changed, moment)
            transitions.extend(changed)
        return transitions

    def _notify(
        self, rule: Rule, states: list[AlertState], changed: list[Transition], now: datetime
    ) -> None:
        url = self.settings.dashboard_url
        active = [s for s in states if s.state == "firing"]
        resolved = {
            t.fingerprint for t in changed if t.after == "resolved" and t.before == "firing"
        }
        shown = active + [s for s in states if s.fingerprint in resolved]
        for state in shown:
            if state.fingerprint not in self.contexts:
                self.contexts[state.fingerprint] = self._business_context(rule, state, now)
        views = [
            notify.view_of(rule, s, now, dashboard_url=url, context=self.contexts[s.fingerprint])
            for s in shown
        ]
        if self.settings.alertmanager_url and views:
            payload = {"alerts": [notify.alertmanager_alert(v) for v in views]}
            key = f"alertmanager:{rule.name}:{now.isoformat()}"
            channel = AlertmanagerChannel(self.settings.alertmanager_url)
            [outcome] = deliver(
                Notification(key, "", "", payload=payload),
                [channel],
                kind="alert",
                retry=_RESEND,
                sleep=self.sleep,
            )
            if outcome.status != "sent":
                logger.warning("Alertmanager did not take %s: %s", rule.name, outcome.error)
        news = {
            t.fingerprint: t for t in changed if t.after == "firing" or t.fingerprint in resolved
        }
        for state in shown:
            transition = news.get(state.fingerprint)
            if transition is None:
                continue  # still firing: Alertmanager was told again, the others were told once
            view = next(v for v in views if v.labels == notify.alert_labels(rule, state.group))
            self._send_direct(
                view, f"alert:{state.fingerprint}:{transition.after}:{now.isoformat()}"
            )

    def _business_context(self, rule: Rule, state: AlertState, now: datetime) -> dict[str, str]:
        """Affected runs, entities, money at risk and example links, as annotations."""
        start, end = window_of(rule, now)
        try:
            found = affected_runs(self.store, rule, state.group, start, end)
        except Exception:  # context is a courtesy: an alert goes out without it
            logger.exception("business context of %s could not be read", rule.name)
            return {}
        if found is None:
            return {}
        context = {"affected_runs": str(found.runs), "affected_entities": str(found.entities)}
        if found.money_at_risk:
            context["money_at_risk"] = "; ".join(
                f"{currency} {amount:,.2f}" for currency, amount in found.money_at_risk.items()
            )
        if found.examples:
            context["example_correlation_ids"] = ", ".join(found.examples)
            base = self.settings.dashboard_url
            if base:
                context["example_links"] = " ".join(
                    f"{base}/traces?correlation={quote(c)}" for c in found.examples
                )
        return context

    def _send_direct(self, view: notify.AlertView, key: str) -> None:
        for kind, channel in direct_channels(self.settings):
            payload = (
                notify.webhook_v4(
                    [view], receiver="flowmeter", external_url=self.settings.dashboard_url
                )
                if kind == "v4"
                else notify.slack_payload([view])
                if kind == "slack"
                else None
            )
            subject = f"[{view.status.upper()}] {view.labels.get('alertname', '')}"
            message = Notification(
                key,
                subject,
                notify.email_text([view]),
                payload=payload,
                tenant=view.labels.get("tenant", ""),
            )
            self._pending.append(
                self._senders.submit(
                    deliver,
                    message,
                    [channel],
                    kind="alert",
                    log=DeliveryLog(self.store),
                    sleep=self.sleep,
                )
            )

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.evaluate()
            except Exception:  # a round that fails is logged; the next one runs
                logger.exception("alert evaluation failed")
            nearest = min(self.next_due.values(), default=self.now() + timedelta(seconds=15))
            self._stop.wait(max(1.0, (nearest - self.now()).total_seconds()))

    def start(self) -> None:
        """Evaluate in a daemon thread until stopped."""
        self._thread = threading.Thread(target=self._loop, name="alerts", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Stop after the current round."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._senders.shutdown(wait=False, cancel_futures=True)
