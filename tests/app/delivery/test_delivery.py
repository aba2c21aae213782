"""The delivery layer against a real SMTP server and a real HTTP sink."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.delivery import (
    Attachment,
    DeliveryLog,
    Notification,
    SmtpChannel,
    WebhookChannel,
    deliver,
)
from models.db import Store
from orchestrator.policy import RetryPolicy
from tests.conftest import free_port
from tests.sinks import smtp_server, webhook_sink

NOTE = Notification(
    key="digest:2026-11-23",
    subject="Weekly digest",
    text="Net savings EUR 1,200",
    html="<p>Net savings <b>EUR 1,200</b></p>",
    attachments=(Attachment("digest.pdf", b"%PDF-1.7 test", "application/pdf"),),
)


@pytest.fixture
def trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, object]]:
    with smtp_server(tmp_path) as (url, mailbox, cert):
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts the test's own CA
        yield url, mailbox


def test_email_goes_over_starttls_with_its_attachment_and_a_stable_message_id(
    trusted: tuple[str, object],
) -> None:
    url, mailbox = trusted
    channel = SmtpChannel(url, "flowmeter@example.com", ("cfo@example.com", "coo@example.com"))
    [outcome] = deliver(NOTE, [channel], kind="digest")
    assert (outcome.status, outcome.attempts) == ("sent", 1)
    [message] = mailbox.wait_for(1)  # type: ignore[attr-defined]
    assert mailbox.encrypted == [True]  # type: ignore[attr-defined]
    assert message["To"] == "cfo@example.com, coo@example.com"
    assert message["Message-ID"] == NOTE.message_id
    assert message["X-Flowmeter-Key"] == "digest:2026-11-23"
    html = message.get_body(preferencelist=("html",))
    assert html is not None and "<b>EUR 1,200</b>" in html.get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "digest.pdf"
    assert attachment.get_content() == b"%PDF-1.7 test"


def test_a_server_without_starttls_is_refused_not_sent_in_clear(tmp_path: Path) -> None:
    with smtp_server(tmp_path, starttls=False) as (url, mailbox, _):
        [outcome] = deliver(NOTE, [SmtpChannel(url, "f@example.com", ("a@example.com",))],
                            kind="digest", sleep=lambda _: None)  # fmt: skip
        assert outcome.status == "failed" and outcome.attempts == 1  # permanent: no retry
        assert "offers no STARTTLS" in outcome.error
        assert mailbox.messages == []
        allowed = SmtpChannel(url + "?starttls=false", "f@example.com", ("a@example.com",))
        assert deliver(NOTE, [allowed], kind="digest")[0].status == "sent"
        assert mailbox.wait_for(1) and mailbox.encrypted == [False]


def test_a_webhook_down_then_up_is_retried_with_jitter_under_one_key() -> None:
    delays: list[float] = []
    with webhook_sink() as sink:
        sink.fail_next = 2
        policy = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=8.0)
        [outcome] = deliver(NOTE, [WebhookChannel(sink.url)], kind="digest", retry=policy,
                            sleep=delays.append, rng=random.Random(7))  # fmt: skip
    assert (outcome.status, outcome.attempts) == ("sent", 3)
    assert len(delays) == 2 and 0 <= delays[0] <= 1.0 and 0 <= delays[1] <= 2.0
    [(headers, body)] = sink.received
    assert headers["Idempotency-Key"] == "digest:2026-11-23"
    assert body == {"key": "digest:2026-11-23", "subject": "Weekly digest",
                    "text": "Net savings EUR 1,200"}  # fmt: skip


def test_a_dead_channel_does_not_stop_the_other_and_the_log_prevents_a_second_send(
    store: Store, trusted: tuple[str, object]
) -> None:
    url, mailbox = trusted
    nobody = WebhookChannel(f"http://127.0.0.1:{free_port()}/hook?token=secret")
    email = SmtpChannel(url, "f@example.com", ("a@example.com",))
    log = DeliveryLog(store)
    quick = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0)
    first = deliver(NOTE, [nobody, email], kind="digest", log=log, retry=quick)
    assert [(o.channel, o.status) for o in first] == [("webhook", "failed"), ("email", "sent")]
    assert "secret" not in first[0].target  # the log never shows a URL's token
    second = deliver(NOTE, [nobody, email], kind="digest", log=log, retry=quick)
    assert [(o.channel, o.status) for o in second] == [("webhook", "failed"), ("email", "skipped")]
    assert len(mailbox.wait_for(1)) == 1  # type: ignore[attr-defined]
    recent = log.recent()
    assert [(r["channel"], r["status"]) for r in recent].count(("email", "sent")) == 1
    assert {r["attempts"] for r in recent if r["channel"] == "webhook"} == {2}
