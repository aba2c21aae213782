"""OTLP/HTTP receiver (starlette on uvicorn, in a background thread) and ``POST /v1/kpi``.

Routes: ``POST /v1/traces``, ``/v1/metrics``, ``/v1/logs`` (protobuf or OTLP JSON, optional
gzip), ``POST /v1/kpi`` (a JSON batch of KPI events), and for operators ``GET /metrics``
(Prometheus text format; a platform token when ingest tokens are set), ``GET /healthz``
(the process answers) and ``GET /readyz`` (the store takes writes and the writer runs).
Answers follow OTLP/HTTP: 200 with an Export*ServiceResponse (``partial_success`` when
records were rejected), 400/413/415 with a google.rpc.Status naming the problem, 401 without
a valid token, 429 + Retry-After when the buffer is full, 503 + Retry-After when more than
FLOWMETER_HTTP_MAX_CONCURRENT ingest requests are in flight. Nothing CPU-heavy runs on the
event loop: decompressing and parsing go to worker threads. A body announced bigger than
FLOWMETER_MAX_BODY_BYTES is refused from its headers: uvicorn sends ``100 Continue`` only
when the application first reads the body, so a client that sent ``Expect: 100-continue``
reads the 413 before it sends a byte of it. TLS, and mutual TLS with a client CA, come from
the settings.
"""

from __future__ import annotations

import hmac
import logging
import math
import ssl
import threading
from collections.abc import Mapping
from typing import Any

import uvicorn
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from collectors import otlp
from collectors.kpi_store import write_kpi_events
from collectors.metrics import pipeline_figures, refusal_reason
from collectors.pipeline import Pipeline
from models.errors import (
    BackpressureError,
    IngestError,
    KpiContractError,
    ReceiverBusyError,
    StoreError,
)
from models.kpi import parse_kpi_batch
from models.settings import PLATFORM_TENANT, Settings

__all__ = ["HttpReceiver", "bearer_tenant"]

logger = logging.getLogger(__name__)

STORE_RETRY_AFTER_SECONDS = 5  # POST /v1/kpi while the store refuses writes (503)


def token_owner(tokens: Mapping[str, str], authorization: str | None) -> str | None:
    """The tenant owning the ``Bearer`` token in ``authorization`` (``*`` for a platform
    token), or None. Compared in constant time against every configured token, so the
    answer's timing tells nothing about how much of a token was right."""
    scheme, _, token = (authorization or "").partition(" ")
    presented = token.strip().encode("utf-8", "replace")
    owner = None
    for known, tenant in tokens.items():
        if hmac.compare_digest(known.encode("utf-8"), presented):
            owner = tenant
    return owner if scheme.lower() == "bearer" else None


def bearer_tenant(tokens: Mapping[str, str], authorization: str | None) -> str | None:
    """The tenant to stamp for a valid ``Bearer`` token: None when tokens are off or for a
    platform token (tenant ``*``: the data keeps the tenants it carries); IngestError(401)
    for a missing or unknown token."""
    if not tokens:
        return None
    tenant = token_owner(tokens, authorization)
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
        self._in_flight = 0  # ingest requests being handled; touched on the event loop only
        self.app = Starlette(
            routes=[
                Route("/v1/kpi", self._kpi, methods=["POST"]),
                Route("/v1/{signal}", self._export, methods=["POST"]),
                Route("/metrics", self._metrics, methods=["GET"]),
                Route("/healthz", self._healthz, methods=["GET"]),
                Route("/readyz", self._readyz, methods=["GET"]),
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

    def _enter(self) -> None:
        """Take an ingest slot or refuse with 503: requests beyond the limit never queue."""
        limit = self.settings.http_max_concurrent
        if self._in_flight >= limit:
            raise ReceiverBusyError(
                f"the receiver is busy: {limit} requests in flight "
                f"(FLOWMETER_HTTP_MAX_CONCURRENT); retry later"
            )
        self._in_flight += 1

    async def _export(self, request: Request) -> Response:
        signal = request.path_params["signal"]
        content_type = request.headers.get("content-type", "")
        reply_type = content_type if otlp.media_type(content_type) == otlp.JSON else otlp.PROTOBUF
        entered = False
        try:
            if signal not in otlp.SIGNALS:
                raise IngestError(
                    f"no such endpoint {request.url.path}; use /v1/traces, /v1/metrics, /v1/logs or /v1/kpi",
                    404,
                )
            tenant = bearer_tenant(
                self.settings.ingest_tokens, request.headers.get("authorization")
            )
            self._enter()
            entered = True
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
            return self._error(reply_type, exc, signal)
        finally:
            if entered:
                self._in_flight -= 1
        payload, media = otlp.response_for(signal, reply_type, result.rejected, result.message)
        return Response(payload, 200, media_type=media)

    def _error(self, reply_type: str, exc: IngestError, signal: str = "") -> Response:
        if signal:
            self.pipeline.metrics.refused(signal, "http", refusal_reason(exc))
        if exc.status >= 500 and not isinstance(exc, ReceiverBusyError):  # busy: counted only
            logger.error("ingest refused with %d: %s", exc.status, exc)
        payload, media = otlp.error_body(reply_type, exc.status, str(exc))
        headers = {}
        if isinstance(exc, BackpressureError | ReceiverBusyError):
            headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        elif exc.status == 503:
            headers["Retry-After"] = str(STORE_RETRY_AFTER_SECONDS)
        if exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        elif exc.status == 413:
            # The body was never read (a client with Expect: 100-continue never sent it):
            # what may follow on this connection is no request, so it ends here.
            headers["Connection"] = "close"
        return Response(payload, exc.status, headers=headers, media_type=media)

    async def _kpi(self, request: Request) -> Response:
        entered = False
        try:
            tenant = bearer_tenant(
                self.settings.ingest_tokens, request.headers.get("authorization")
            )
            if otlp.media_type(request.headers.get("content-type")) != otlp.JSON:
                raise IngestError("POST /v1/kpi takes application/json", 415)
            self._enter()
            entered = True
            body = await self._body(request)
            # Decompressing, parsing, redacting and writing all block: a worker thread does it.
            body_out = await run_in_threadpool(
                self._store_kpi_batch, body, request.headers.get("content-encoding"), tenant
            )
        except KpiContractError as exc:
            return self._error(otlp.JSON, IngestError(str(exc), 400), "kpi")
        except IngestError as exc:
            return self._error(otlp.JSON, exc, "kpi")
        except StoreError as exc:
            logger.error("POST /v1/kpi: the store refused the insert: %s", exc)
            unavailable = IngestError("the store is unavailable; retry later", 503)
            return self._error(otlp.JSON, unavailable, "kpi")
        finally:
            if entered:
                self._in_flight -= 1
        return JSONResponse(body_out, 200)

    def _store_kpi_batch(
        self, body: bytes, content_encoding: str | None, tenant: str | None
    ) -> dict[str, Any]:
        """Decode, validate, redact and store one ``POST /v1/kpi`` batch (a worker thread)."""
        raw = otlp.decompress(body, content_encoding, self.settings.max_decompressed_bytes)
        events, rejections = parse_kpi_batch(
            raw, tenant=tenant, max_events=self.settings.kpi_max_events
        )
        redactor = self.pipeline.redactor
        events = [
            e.model_copy(update={"attributes": redactor.apply(dict(e.attributes))}) for e in events
        ]
        inserted = write_kpi_events(self.pipeline.store, events)
        self.pipeline.metrics.records("kpi", len(events), len(rejections))
        return {
            "accepted": len(events),
            "inserted": inserted,
            "duplicates": len({e.event_id for e in events}) - inserted,
            "rejected": [
                {"index": r.index, "event_id": r.event_id, "reason": r.reason} for r in rejections
            ],
        }

    # --- operators: metrics and probes -----------------------------------------------------
    async def _metrics(self, request: Request) -> Response:
        """Prometheus text format. The figures span every tenant, so with ingest tokens set
        only a platform token (tenant ``*``) may read them; a tenant's token may not."""
        tokens = self.settings.ingest_tokens
        if tokens:
            owner = token_owner(tokens, request.headers.get("authorization"))
            if owner is None:
                return PlainTextResponse(
                    "GET /metrics needs a platform ingest token (Authorization: Bearer <token>)",
                    401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            if owner != PLATFORM_TENANT:
                return PlainTextResponse(
                    "GET /metrics needs a platform token (tenant *): the figures span tenants",
                    403,
                )
        payload = await run_in_threadpool(generate_latest, self.pipeline.metrics.registry)
        return Response(payload, 200, media_type=CONTENT_TYPE_PLAIN_0_0_4)

    async def _healthz(self, request: Request) -> Response:
        return PlainTextResponse("ok", 200)

    async def _readyz(self, request: Request) -> Response:
        problem = await run_in_threadpool(self._not_ready)
        if problem:
            return PlainTextResponse(f"not ready: {problem}", 503)
        return PlainTextResponse("ready", 200)

    def _not_ready(self) -> str:
        """Why this receiver cannot take data now, or "" when it can."""
        if not pipeline_figures(self.pipeline).writer_running:
            return "the ingest writer is not running"
        try:
            self.pipeline.store.execute("collectors/ready_probe")
        except StoreError as exc:
            logger.warning("readiness probe: the store refused a write: %s", exc)
            return "the store does not accept writes"
        return ""

    async def _unknown(self, request: Request) -> Response:
        exc = IngestError(
            f"no such endpoint {request.url.path}; use /v1/traces, /v1/metrics, /v1/logs or /v1/kpi",
            404,
        )
        return self._error(request.headers.get("content-type", otlp.PROTOBUF), exc)
