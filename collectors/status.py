"""The one map from the HTTP status an ingest refusal carries to its gRPC status code.

OTLP (opentelemetry-specification, specification/protocol/otlp.md, "OTLP/gRPC Response >
Failures" and "OTLP/HTTP Response > Failures"): a permanent failure (bad data, a request too
big to ever be taken) is not retryable, and the server "is recommended to use code
InvalidArgument"; HTTP 413 is not in OTLP/HTTP's retryable list either, so 413 maps to
INVALID_ARGUMENT, never RESOURCE_EXHAUSTED. Backpressure is retryable: 429 maps to
RESOURCE_EXHAUSTED, which clients retry "only if the server signals that the recovery from
resource exhaustion is possible" with a RetryInfo, so the gRPC receiver always sends one.
The OTLP/HTTP error body (a google.rpc.Status) carries the same code.
"""

from __future__ import annotations

from typing import Final

__all__ = ["grpc_code"]

# google.rpc.Code numbers (the same as grpc.StatusCode's).
INVALID_ARGUMENT: Final = 3
RESOURCE_EXHAUSTED: Final = 8
UNIMPLEMENTED: Final = 12
UNAVAILABLE: Final = 14
UNAUTHENTICATED: Final = 16

_BY_HTTP_STATUS: Final = {
    400: INVALID_ARGUMENT,  # bad data: permanent
    401: UNAUTHENTICATED,
    404: UNIMPLEMENTED,  # no such method / endpoint
    413: INVALID_ARGUMENT,  # too big: resending the same request can never succeed
    415: INVALID_ARGUMENT,  # unsupported encoding: permanent
    429: RESOURCE_EXHAUSTED,  # buffer full: retry after the RetryInfo delay
    503: UNAVAILABLE,  # store, WAL or receiver busy: retryable
}


def grpc_code(http_status: int) -> int:
    """The google.rpc.Code for an ingest refusal answered with ``http_status`` over HTTP."""
    if http_status in _BY_HTTP_STATUS:
        return _BY_HTTP_STATUS[http_status]
    return INVALID_ARGUMENT if 400 <= http_status < 500 else UNAVAILABLE
