"""OTLP/HTTP receiver (starlette on uvicorn, in a background thread) and ``POST /v1/kpi``.

Routes: ``POST /v1/traces``, ``/v1/metrics``, ``/v1/logs`` (protobuf or OTLP JSON, optional
gzip) and ``POST /v1/kpi`` (a JSON batch of KPI events). Answers follow OTLP/HTTP: 200 with
an Export*ServiceResponse (``partial_success`` when records were rejected), 400/413/415 with
a google.rpc.Status naming the problem, 401 without a valid token, 429 + Retry-After when
the buffer is full. TLS, and mutual TLS with a client CA, come from the settings.
"""

from __future__ import annotations

import logging
import math
import ssl
import threading
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collectors import otlp
from collectors.kpi_store import event_key, write_kpi_events
from collectors.pipeline import Pipeline
from models.errors import BackpressureError, IngestError, KpiContractError, StoreError
from models.kpi import parse_kpi_batch
from models.settings import PLATFORM_TENANT, Settings

__all__ = ["HttpReceiver", "bearer_tenant"]

logger = logging.getLogger(__name__)

STORE_RETRY_AFTER_SECONDS = 5  # POST /v1/kpi while the store refuses writes (503)


def bearer_tenant(tokens: dict[str, str] | Any, authorization: str | None) -> str | None:
    """The tenant to stamp for a valid ``Bearer`` token: None when tokens are off or for a
    platform token (tenant ``*``: the data keeps the tenants it carries); IngestError(401)
    for a missing or unknown token."""
    if not tokens:
        return None
    scheme, _, token = (authorization or "").partition(" ")
    tenant = tokens.get(token.strip()) if scheme.lower() == "bearer" else None
    if tenant is None:
        raise IngestError("missing or invalid ingest token (Authorization: Bearer <token>)", 401)
    return None if tenant == PLATFORM_TENANT else str(tenant)


class HttpReceiver:
    """The OTLP/HTTP listener; a models.lifecycle.Service."""

    name = "OTLP/HTTP receiver"

    def __init__(self, settings: Settings, pipeline: Pipeline, *, port: int | None = None) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.requested_port = settings.otlp_http_port if port is None else port
        self.port = self.requested_port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = Starlette(
            routes=[
                Route("/v1/kpi", self._kpi, methods=["POST"]),
                Route("/v1/{signal}", self._export, methods=["POST"]),
                Route("/{path:path}", self._unknown, methods=["GET", "POST", "PUT"]),
            ]
        )

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Bind and serve in a background thread; return once the port accepts connections."""
        s = self.settings
        tls: dict[str, Any] = {}
        if s.tls_cert and s.tls_key:
            tls = {"ssl_certfile": str(s.tls_cert), "ssl_keyfile": str(s.tls_key)}
            if s.tls_client_ca:
                tls |= {"ssl_ca_certs": str(s.tls_client_ca), "ssl_cert_reqs": ssl.CERT_REQUIRED}
        config = uvicorn.Config(
            self.app,
            host=s.bind,
            port=self.requested_port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
            **tls,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="otlp-http", daemon=True)
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise IngestError(
                    f"OTLP/HTTP receiver could not listen on {s.bind}:{self.requested_port}", 503
                )
            self._thread.join(0.02)
        sockets = [sock for server in self._server.servers for sock in server.sockets]
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        logger.info("OTLP/HTTP listening on %s:%d", s.bind, self.port)

    def stop(self, timeout: float) -> None:
        """Stop accepting requests and let in-flight ones finish."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout)

    # --- handlers --------------------------------------------------------------------------
    async def _body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise IngestError(f"body is {declared} bytes; FLOWMETER_MAX_BODY_BYTES is {limit}", 413)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise IngestError(f"body exceeds FLOWMETER_MAX_BODY_BYTES ({limit} bytes)", 413)
            chunks.append(chunk)
        return b"".join(chunks)

    async def _export(self, request: Request) -> Response:
        signal = request.path_params["signal"]
        content_type = request.headers.get("content-type", "")
        reply_type = content_type if otlp.media_type(content_type) == otlp.JSON else otlp.PROTOBUF
        try:
            if signal not in otlp.SIGNALS:
                raise IngestError(
                    f"no such endpoint {request.url.path}; use /v1/traces, /v1/metrics, /v1/logs or /v1/kpi",
                    404,
                )
            tenant = bearer_tenant(
                self.settings.ingest_tokens, request.headers.get("authorization")
            )
            body = await self._body(request)
            result = await run_in_threadpool(
                self.pipeline.submit,
                signal,
                body,
                content_type=content_type,
                content_encoding=request.headers.get("content-encoding"),
                tenant=tenant,
            )
        except IngestError as exc:
            return self._error(reply_type, exc)
        payload, media = otlp.response_for(signal, reply_type, result.rejected, result.message)
        return Response(payload, 200, media_type=media)

    def _error(self, reply_type: str, exc: IngestError) -> Response:
        if exc.status >= 500:
            logger.error("ingest refused with %d: %s", exc.status, exc)
        payload, media = otlp.error_body(reply_type, exc.status, str(exc))
        headers = {}
        if isinstance(exc, BackpressureError):
            headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        elif exc.status == 503:
            headers["Retry-After"] = str(STORE_RETRY_AFTER_SECONDS)
        if exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return Response(payload, exc.status, headers=headers, media_type=media)

    async def _kpi(self, request: Request) -> Response:
        try:
            tenant = bearer_tenant(
                self.settings.ingest_tokens, request.headers.get("authorization")
            )
            if otlp.media_type(request.headers.get("content-type")) != otlp.JSON:
                raise IngestError("POST /v1/kpi takes application/json", 415)
            body = otlp.decompress(
                await self._body(request),
                request.headers.get("content-encoding"),
                self.settings.max_decompressed_bytes,
            )
            events, rejections = parse_kpi_batch(
                body, tenant=tenant, max_events=self.settings.kpi_max_events
            )
            redactor = self.pipeline.redactor
            events = [
                e.model_copy(update={"attributes": redactor.apply(dict(e.attributes))})
                for e in events
            ]
            inserted = await run_in_threadpool(write_kpi_events, self.pipeline.store, events)
        except KpiContractError as exc:
            return self._error(otlp.JSON, IngestError(str(exc), 400))
        except IngestError as exc:
            return self._error(otlp.JSON, exc)
        except StoreError as exc:
            logger.error("POST /v1/kpi: the store refused the insert: %s", exc)
            return self._error(otlp.JSON, IngestError("the store is unavailable; retry later", 503))
        body_out = {
            "accepted": len(events),
            "inserted": inserted,
            "duplicates": len({event_key(e) for e in events}) - inserted,
            "rejected": [
                {"index": r.index, "event_id": r.event_id, "reason": r.reason} for r in rejections
            ],
        }
        return JSONResponse(body_out, 200)

    async def _unknown(self, request: Request) -> Response:
        exc = IngestError(
            f"no such endpoint {request.url.path}; use /v1/traces, /v1/metrics, /v1/logs or /v1/kpi",
            404,
        )
        return self._error(request.headers.get("content-type", otlp.PROTOBUF), exc)
