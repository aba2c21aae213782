"""Real receivers for outbound notifications: an SMTP server (aiosmtpd, STARTTLS required)
and an HTTP webhook sink, each on a free local port."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.conftest import free_port


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost (cert, key), made by openssl."""
    cert, key = folder / "smtp.pem", folder / "smtp.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class Mailbox:
    """What the SMTP server received, and whether the session was encrypted."""

    messages: list[EmailMessage] = field(default_factory=list)
    encrypted: list[bool] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[EmailMessage]:
        """Block until ``count`` messages arrived (or the timeout passes); return them."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= count, timeout)
        return list(self.messages)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        with self.arrived:
            self.messages.append(message)  # type: ignore[arg-type]
            self.encrypted.append(session.ssl is not None)
            self.arrived.notify_all()
        return "250 OK"


@contextmanager
def smtp_server(folder: Path, *, starttls: bool = True) -> Iterator[tuple[str, Mailbox, Path]]:
    """A real SMTP server on a free port: (url, mailbox, the certificate clients must trust)."""
    cert, key = make_certificate(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port,
        tls_context=context if starttls else None, require_starttls=starttls,
    )  # fmt: skip
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", mailbox, cert
    finally:
        controller.stop()


@dataclass
class WebhookSink:
    """An HTTP server that records JSON POSTs; ``fail_next`` answers 503 that many times."""

    url: str = ""
    received: list[tuple[dict[str, str], Any]] = field(default_factory=list)
    fail_next: int = 0


@contextmanager
def webhook_sink() -> Iterator[WebhookSink]:
    """A local webhook receiver on a free port."""
    sink = WebhookSink()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if sink.fail_next > 0:
                sink.fail_next -= 1
                self.send_response(503)
                self.end_headers()
                return
            sink.received.append((dict(self.headers), json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
