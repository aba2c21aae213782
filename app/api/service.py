"""``ApiService``: the HTTP API as one more component of ``flowmeter up`` / ``collect``.

uvicorn serves it in a background thread, bound like the other listeners (FLOWMETER_BIND,
TLS from the same settings). Once it listens, the service writes ``<data dir>/api.json``
(0600) so the CLI can find it; stopping removes the file before the port closes.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import uvicorn

from app.api.app import ApiState, build_app
from app.api.auth import parse_api_tokens
from app.api.discovery import RuntimeFile, new_local_token, remove_runtime_file, write_runtime_file
from models.db import Store
from models.errors import StoreError
from models.settings import Settings
from orchestrator.api import OrchestratorAPI

__all__ = ["ApiService"]

logger = logging.getLogger(__name__)


def _client_host(bind: str) -> str:
    if bind in ("0.0.0.0", ""):  # noqa: S104
        return "127.0.0.1"
    if bind == "::":
        return "[::1]"
    return f"[{bind}]" if ":" in bind else bind


class ApiService:
    """The ``/api/v1`` listener; a models.lifecycle.Service."""

    name = "HTTP API"

    def __init__(self, settings: Settings, store: Store, *, port: int | None = None) -> None:
        self.settings = settings
        self.requested_port = settings.api_port if port is None else port
        self.port = self.requested_port
        self.local_token = new_local_token()
        self._orchestrator: OrchestratorAPI | None = None
        self._guard = threading.Lock()
        self.state = ApiState(
            settings=settings, store=store, orchestrator=self._engine_api,
            grants=parse_api_tokens(settings.api_tokens), local_token=self.local_token,
        )  # fmt: skip
        self.app = build_app(self.state)
        self.runtime: RuntimeFile | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def _engine_api(self) -> OrchestratorAPI:
        """The engine's API, opened on first use (replays send their audit event)."""
        with self._guard:
            if self._orchestrator is None:
                from app.telemetry import audit_telemetry

                self._orchestrator = OrchestratorAPI.from_settings(
                    self.settings, telemetry=audit_telemetry(self.settings)
                )
            return self._orchestrator

    @property
    def url(self) -> str:
        """Where the API answers, for a client on this machine."""
        scheme = "https" if self.settings.tls_cert else "http"
        return f"{scheme}://{_client_host(self.settings.bind)}:{self.port}"

    def start(self) -> None:
        """Bind and serve in a background thread; write api.json once the port accepts."""
        s = self.settings
        tls: dict[str, Any] = {}
        if s.tls_cert and s.tls_key:
            tls = {"ssl_certfile": str(s.tls_cert), "ssl_keyfile": str(s.tls_key)}
        config = uvicorn.Config(
            self.app, host=s.bind, port=self.requested_port, log_level="warning",
            access_log=False, lifespan="off", timeout_graceful_shutdown=2, **tls,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="api-http", daemon=True)
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise StoreError(
                    f"the HTTP API could not listen on {s.bind}:{self.requested_port} "
                    "(FLOWMETER_API_PORT)"
                )
            self._thread.join(0.02)
        sockets = [sock for server in self._server.servers for sock in server.sockets]
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self.runtime = RuntimeFile(url=self.url, token=self.local_token, pid=os.getpid())
        if self.state.store.embedded:
            write_runtime_file(s.data_dir, self.runtime)
        logger.info("HTTP API listening on %s", self.url)

    def stop(self, timeout: float) -> None:
        """Remove api.json, stop accepting requests and let in-flight ones finish."""
        if self.runtime is not None:
            remove_runtime_file(self.settings.data_dir, self.runtime)
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout)
        with self._guard:
            if self._orchestrator is not None:
                if self._orchestrator.telemetry is not None:
                    self._orchestrator.telemetry.shutdown()
                self._orchestrator.close()
                self._orchestrator = None
