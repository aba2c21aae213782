"""OTLP/gRPC receiver: the Trace, Metrics and Logs services' ``Export`` methods.

grpcio decodes (and gunzips) the request; the pipeline validates and logs it like an HTTP
one. Status codes: INVALID_ARGUMENT for bad data, UNAUTHENTICATED without a valid token,
RESOURCE_EXHAUSTED when the buffer is full (SDKs retry it), UNAVAILABLE when the WAL fails.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from collectors import otlp
from collectors.http_receiver import bearer_tenant
from collectors.pipeline import Pipeline
from models.errors import BackpressureError, IngestError
from models.settings import Settings

__all__ = ["GrpcReceiver"]

logger = logging.getLogger(__name__)

_CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    404: grpc.StatusCode.UNIMPLEMENTED,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    415: grpc.StatusCode.INVALID_ARGUMENT,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
}


class _Export:
    """One OTLP service's Export method bound to a signal."""

    def __init__(self, receiver: GrpcReceiver, signal: str) -> None:
        self.receiver = receiver
        self.signal = signal

    def Export(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802 - gRPC name
        pipeline = self.receiver.pipeline
        try:
            metadata = dict(context.invocation_metadata())
            tenant = bearer_tenant(
                self.receiver.settings.ingest_tokens, metadata.get("authorization")
            )
            result = pipeline.submit_message(self.signal, request, tenant=tenant)
        except IngestError as exc:
            code = _CODES.get(exc.status, grpc.StatusCode.UNAVAILABLE)
            if isinstance(exc, BackpressureError):
                context.set_trailing_metadata((("retry-after", str(int(exc.retry_after))),))
            context.abort(code, str(exc))
        return otlp.build_response(self.signal, result.rejected, result.message)


class GrpcReceiver:
    """The OTLP/gRPC listener; a models.lifecycle.Service."""

    name = "OTLP/gRPC receiver"

    def __init__(self, settings: Settings, pipeline: Pipeline, *, port: int | None = None) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.port = settings.otlp_grpc_port if port is None else port
        self._server: grpc.Server | None = None

    def start(self) -> None:
        """Bind and serve; return once the port accepts connections."""
        s = self.settings
        server = grpc.server(
            ThreadPoolExecutor(max_workers=8, thread_name_prefix="otlp-grpc"),
            options=[
                ("grpc.max_receive_message_length", s.max_decompressed_bytes),
                ("grpc.max_send_message_length", 4 << 20),
            ],
        )
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_Export(self, "traces"), server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(
            _Export(self, "metrics"), server
        )
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_Export(self, "logs"), server)
        address = f"{s.bind}:{self.port}"
        if s.tls_cert and s.tls_key:
            credentials = grpc.ssl_server_credentials(
                [(s.tls_key.read_bytes(), s.tls_cert.read_bytes())],
                root_certificates=s.tls_client_ca.read_bytes() if s.tls_client_ca else None,
                require_client_auth=s.tls_client_ca is not None,
            )
            bound = server.add_secure_port(address, credentials)
        else:
            bound = server.add_insecure_port(address)
        if not bound:
            raise IngestError(f"OTLP/gRPC receiver could not listen on {address}", 503)
        self.port = bound
        server.start()
        self._server = server
        logger.info("OTLP/gRPC listening on %s:%d", s.bind, self.port)

    def stop(self, timeout: float) -> None:
        """Refuse new calls, let running ones finish within ``timeout``."""
        if self._server is not None:
            self._server.stop(grace=timeout).wait(timeout)
