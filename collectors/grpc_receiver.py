"""OTLP/gRPC receiver: the Trace, Metrics and Logs services' ``Export`` methods.

A server interceptor checks the token in the call's metadata before anything else: a call
without a valid one is answered UNAUTHENTICATED by a handler that has no deserializer, so
its message (up to FLOWMETER_MAX_DECOMPRESSED_BYTES) is never decoded. An authenticated
call's message is decoded by the interceptor too, so a malformed one gets INVALID_ARGUMENT
naming the problem (grpcio's own decoding answers a bare INTERNAL). The pipeline validates
and logs it like an HTTP one. At most FLOWMETER_GRPC_MAX_CONCURRENT calls run at once (one
worker thread each): grpcio answers RESOURCE_EXHAUSTED beyond that, nothing queues.
Status codes follow collectors/status.py (the one HTTP -> gRPC map); a full buffer answers
RESOURCE_EXHAUSTED with a RetryInfo, which OTLP clients need before they retry it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from google.protobuf.any_pb2 import Any as AnyMessage
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import DecodeError
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

from collectors import otlp
from collectors.http_receiver import bearer_tenant
from collectors.metrics import refusal_reason
from collectors.pipeline import Pipeline
from collectors.status import grpc_code
from models.errors import BackpressureError, IngestError
from models.settings import Settings

__all__ = ["GrpcReceiver"]

logger = logging.getLogger(__name__)

_STATUS_CODES = {code.value[0]: code for code in grpc.StatusCode}
# /opentelemetry.proto.collector.<signal>.v1.<Service>/Export -> signal
_SIGNAL_OF_SERVICE = {"trace": "traces", "metrics": "metrics", "logs": "logs"}


def _signal_of(method: str) -> str:
    parts = method.split(".")
    return _SIGNAL_OF_SERVICE.get(parts[3] if len(parts) > 3 else "", "unknown")


def _abort(context: grpc.ServicerContext, exc: IngestError) -> None:
    """End the call with the status collectors/status.py maps ``exc.status`` to."""
    code = _STATUS_CODES[grpc_code(exc.status)]
    if isinstance(exc, BackpressureError):
        seconds = max(1, math.ceil(exc.retry_after))
        retry = RetryInfo(retry_delay=Duration(seconds=seconds))
        details = AnyMessage()
        details.Pack(retry)
        status = Status(code=code.value[0], message=str(exc), details=[details])
        context.set_trailing_metadata(
            (
                # the standard rich status (Go, Java, the Collector read it) ...
                ("grpc-status-details-bin", status.SerializeToString()),
                # ... and the key the Python SDK's exporter reads
                ("google.rpc.retryinfo-bin", retry.SerializeToString()),
                ("retry-after", str(seconds)),
            )
        )
    context.abort(code, str(exc))


class _Gate(grpc.ServerInterceptor):
    """Authenticates a call on its metadata before its message is decoded."""

    def __init__(self, receiver: GrpcReceiver) -> None:
        self.receiver = receiver

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        signal = _signal_of(details.method)
        metadata = dict(details.invocation_metadata or ())
        try:
            bearer_tenant(self.receiver.settings.ingest_tokens, metadata.get("authorization"))
        except IngestError as exc:
            return grpc.unary_unary_rpc_method_handler(self._refuse(signal, exc))
        handler = continuation(details)
        if handler is None or handler.unary_unary is None or handler.request_deserializer is None:
            return handler
        return grpc.unary_unary_rpc_method_handler(
            self._decoding(signal, handler.unary_unary, handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )

    def _refuse(self, signal: str, exc: IngestError) -> Callable[[bytes, Any], Any]:
        def refuse(request: bytes, context: grpc.ServicerContext) -> Any:
            # ``request`` is the raw message: without a deserializer grpcio hands over bytes.
            self.receiver.pipeline.metrics.refused(signal, "grpc", refusal_reason(exc))
            _abort(context, exc)

        return refuse

    def _decoding(
        self, signal: str, behavior: Callable[[Any, Any], Any], decode: Callable[[bytes], Any]
    ) -> Callable[[bytes, Any], Any]:
        def decoded(request: bytes, context: grpc.ServicerContext) -> Any:
            try:
                message = decode(request)
            except DecodeError as exc:
                refused = IngestError(f"the message is not a valid OTLP {signal} request: {exc}")
                self.receiver.pipeline.metrics.refused(signal, "grpc", refusal_reason(refused))
                _abort(context, refused)
            return behavior(message, context)

        return decoded


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
            pipeline.metrics.refused(self.signal, "grpc", refusal_reason(exc))
            _abort(context, exc)
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
        # One worker per allowed call: an accepted call never waits in the executor's queue,
        # and grpcio refuses the one over the limit with RESOURCE_EXHAUSTED before reading it.
        limit = s.grpc_max_concurrent
        server = grpc.server(
            ThreadPoolExecutor(max_workers=limit, thread_name_prefix="otlp-grpc"),
            interceptors=[_Gate(self)],
            maximum_concurrent_rpcs=limit,
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
