"""``ApiClient``: the CLI's way into a running Flowmeter (stdlib HTTP, no extra dependency).

Errors come back as the exceptions the same call raises in-process (the answer names the
class), so a CLI command prints the same message and exits with the same code either way.
"""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from app.api.auth import LOCAL_ACTOR_HEADER
from app.api.discovery import RuntimeFile
from models import errors
from models.errors import FlowmeterError

__all__ = ["ApiClient", "ApiUnreachableError"]

API_PREFIX = "/api/v1"
TIMEOUT_SECONDS = 3600.0  # an import of a large bill runs as long as it runs in-process


class ApiUnreachableError(FlowmeterError):
    """The process that holds the data directory did not answer on its API."""


def _raised(status: int, body: Mapping[str, Any]) -> Exception:
    message = str(body.get("error") or body.get("detail") or f"HTTP {status}")
    kind = getattr(errors, str(body.get("type", "")), None)
    if isinstance(kind, type) and issubclass(kind, FlowmeterError):
        return kind(message)
    if body.get("type") in ("ValueError", "BadInputError", "UploadTooLargeError"):
        return ValueError(message)
    if status == 401:
        return errors.AuthenticationError(message)
    if status == 403:
        return errors.PermissionDeniedError(message)
    return FlowmeterError(message)


class ApiClient:
    """Calls to one running Flowmeter's API with its local credential."""

    def __init__(
        self, runtime: RuntimeFile, *, actor: str | None = None, tls_ca: Path | None = None
    ) -> None:
        self.runtime = runtime
        self.actor = actor
        parts = urlsplit(runtime.url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._tls: ssl.SSLContext | None = None
        if self._https:
            # Our own process on this machine, found through a 0600 file: trust its certificate
            # whatever host name it carries.
            self._tls = ssl.create_default_context(cafile=str(tls_ca) if tls_ca else None)
            self._tls.check_hostname = False

    def _connection(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=TIMEOUT_SECONDS, context=self._tls
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=TIMEOUT_SECONDS)

    def call(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
        body: Any = None, data: bytes | None = None, actor: str | None = None,
    ) -> Any:  # fmt: skip
        """One request; the decoded JSON answer, or the server's error raised here."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        target = API_PREFIX + path + (f"?{urlencode(query)}" if query else "")
        headers = {"authorization": f"Bearer {self.runtime.token}", "accept": "application/json"}
        if actor or self.actor:
            headers[LOCAL_ACTOR_HEADER] = str(actor or self.actor)
        payload: bytes | None = data
        if body is not None:
            payload = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        elif data is not None:
            headers["content-type"] = "application/octet-stream"
        connection = self._connection()
        try:
            connection.request(method, target, body=payload, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        except OSError as exc:
            raise ApiUnreachableError(
                f"the Flowmeter process (pid {self.runtime.pid}) that holds the data directory "
                f"did not answer at {self.runtime.url}: {exc}"
            ) from None
        finally:
            connection.close()
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError:
            answer = {"error": raw[:200].decode(errors="replace")}
        if response.status >= 400:
            raise _raised(response.status, answer)
        return answer

    def get_rows(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """The ``rows`` of a read endpoint."""
        rows: list[dict[str, Any]] = self.call("GET", path, params=params)["rows"]
        return rows

    def upload(self, path: str, file: Path, **params: Any) -> Any:
        """POST a file's bytes, named by ``filename``."""
        return self.call("POST", path, params={"filename": file.name, **params},
                         data=file.read_bytes())  # fmt: skip
