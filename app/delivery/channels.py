"""The notification and the channels that carry it: SMTP (STARTTLS) and HTTP webhooks."""

from __future__ import annotations

import hashlib
import json
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlparse

from models.errors import FlowmeterError

__all__ = [
    "AlertmanagerChannel",
    "Attachment",
    "Channel",
    "DeliveryError",
    "Notification",
    "PermanentDeliveryError",
    "SmtpChannel",
    "WebhookChannel",
]


class DeliveryError(FlowmeterError):
    """A send failed in a way a later attempt may get through (network, 5xx, 4xx SMTP)."""


class PermanentDeliveryError(DeliveryError):
    """A send was refused for good (bad address, 4xx from a webhook): retrying won't help."""


@dataclass(frozen=True)
class Attachment:
    """A file sent with an e-mail."""

    filename: str
    content: bytes
    mime_type: str


@dataclass(frozen=True)
class Notification:
    """One message to deliver; ``key`` makes every retry and every channel the same message."""

    key: str
    subject: str
    text: str
    html: str = ""
    attachments: tuple[Attachment, ...] = ()
    payload: Mapping[str, Any] | None = None  # a webhook's JSON body; default: the texts
    tenant: str = ""

    @property
    def message_id(self) -> str:
        """A stable RFC 5322 Message-ID: mail systems drop a second copy with the same id."""
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:32]
        return f"<{digest}@flowmeter>"


class Channel(Protocol):
    """Something that carries a notification somewhere; raises DeliveryError when it can't."""

    @property
    def name(self) -> str:
        """The channel's kind in the delivery log: ``email``, ``webhook``, ..."""

    @property
    def target(self) -> str:
        """What the delivery log shows: recipients or host, never a credential."""

    def send(self, notification: Notification) -> None:
        """Deliver the notification once, or raise DeliveryError / PermanentDeliveryError."""


@dataclass(frozen=True)
class SmtpChannel:
    """E-mail through an SMTP server: ``smtp://user:pass@host:587`` upgrades with STARTTLS
    (required unless ``?starttls=false``), ``smtps://`` uses implicit TLS."""

    url: str
    sender: str
    recipients: Sequence[str]
    timeout: float = 30.0
    name: str = "email"
    ca_file: str | None = field(default=None, repr=False)

    @property
    def target(self) -> str:
        """The recipients (the URL may hold a password: never shown)."""
        return ", ".join(self.recipients)

    def _message(self, notification: Notification) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = notification.subject
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = notification.message_id
        message["X-Flowmeter-Key"] = notification.key
        message.set_content(notification.text)
        if notification.html:
            message.add_alternative(notification.html, subtype="html")
        for item in notification.attachments:
            main, _, sub = item.mime_type.partition("/")
            message.add_attachment(item.content, maintype=main, subtype=sub, filename=item.filename)
        return message

    def send(self, notification: Notification) -> None:
        """Send the e-mail to every recipient in one SMTP transaction."""
        parts = urlparse(self.url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise PermanentDeliveryError(
                "FLOWMETER_SMTP_URL must be smtp://host[:port] or smtps://"
            )
        options = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
        context = ssl.create_default_context(cafile=self.ca_file)
        port = parts.port or (465 if parts.scheme == "smtps" else 587)
        try:
            if parts.scheme == "smtps":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    parts.hostname, port, timeout=self.timeout, context=context
                )
            else:
                client = smtplib.SMTP(parts.hostname, port, timeout=self.timeout)
            with client:
                client.ehlo()
                if parts.scheme == "smtp" and options.get("starttls", "true") != "false":
                    if not client.has_extn("starttls"):
                        raise PermanentDeliveryError(
                            f"{parts.hostname}:{port} offers no STARTTLS; refusing to send "
                            "in clear (add ?starttls=false to FLOWMETER_SMTP_URL to allow it)"
                        )
                    client.starttls(context=context)
                    client.ehlo()
                if parts.username:
                    client.login(unquote(parts.username), unquote(parts.password or ""))
                client.send_message(self._message(notification))
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentDeliveryError(f"recipients refused: {sorted(exc.recipients)}") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentDeliveryError(f"SMTP login refused ({exc.smtp_code})") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{parts.hostname}:{port}: {exc}") from None


@dataclass(frozen=True)
class WebhookChannel:
    """A JSON POST to a URL, with ``Idempotency-Key`` so a receiver can drop a retried copy."""

    url: str
    timeout: float = 10.0
    name: str = "webhook"
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def target(self) -> str:
        """Scheme, host and path of the URL (its query may carry a token: never shown)."""
        parts = urlparse(self.url)
        return f"{parts.scheme}://{parts.hostname}{parts.path}"

    def send(self, notification: Notification) -> None:
        """POST the notification's payload (or its subject and text); 2xx is delivered."""
        body = notification.payload or {
            "key": notification.key,
            "subject": notification.subject,
            "text": notification.text,
        }
        post_json(self.url, body, notification.key, self.timeout, self.target, self.headers)


def post_json(
    url: str, body: Any, key: str, timeout: float, shown: str, headers: Mapping[str, str]
) -> None:
    """POST ``body`` as JSON with an ``Idempotency-Key``; DeliveryError says what went wrong."""
    request = urllib.request.Request(  # noqa: S310 - the URL is the operator's setting
        url,
        data=json.dumps(body, default=str).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            "User-Agent": "flowmeter",
            **headers,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            response.read()
    except urllib.error.HTTPError as exc:
        message = f"{shown} answered {exc.code}"
        if 400 <= exc.code < 500 and exc.code not in (408, 425, 429):
            raise PermanentDeliveryError(message) from None
        raise DeliveryError(message) from None
    except (urllib.error.URLError, OSError) as exc:
        raise DeliveryError(f"{shown}: {getattr(exc, 'reason', exc)}") from None


@dataclass(frozen=True)
class AlertmanagerChannel:
    """Alertmanager's API v2: the notification's ``payload["alerts"]`` go to ``/api/v2/alerts``."""

    url: str
    timeout: float = 10.0
    name: str = "alertmanager"

    @property
    def target(self) -> str:
        """Alertmanager's base URL without credentials."""
        parts = urlparse(self.url)
        return f"{parts.scheme}://{parts.hostname}:{parts.port or 80}{parts.path}"

    def send(self, notification: Notification) -> None:
        """POST the alerts; Alertmanager deduplicates them on their labels."""
        alerts = (notification.payload or {}).get("alerts", [])
        endpoint = self.url.rstrip("/") + "/api/v2/alerts"
        post_json(endpoint, alerts, notification.key, self.timeout, self.target, {})
