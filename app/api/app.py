"""The FastAPI application: who may call, how errors answer, and the routes of reads/writes.

Errors answer ``{"error": message, "type": exception class, "field": name?}``: bad input is a
400 naming the field, a missing or unknown token 401, a role or tenant that may not 403, an
unknown id 404, a second replay 409, a store that is down 503. A 500 means a bug.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.access import VIEWS, User
from app.api.auth import LOCAL_ACTOR_HEADER, Principal, identify
from models.db import Store
from models.errors import (
    AuthenticationError,
    CostImportError,
    FlowmeterError,
    KpiContractError,
    NotFoundError,
    OrchestratorError,
    PermissionDeniedError,
    ReadOnlyError,
    ReplayRefusedError,
    StoreError,
)
from models.settings import Settings
from orchestrator.api import OrchestratorAPI

__all__ = [
    "API_PREFIX",
    "ApiState",
    "BadInputError",
    "UploadTooLargeError",
    "build_app",
    "caller",
    "reader",
    "state_of",
]

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


class BadInputError(ValueError):
    """A request value the API refuses; ``field`` names it in the 400 answer."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class UploadTooLargeError(BadInputError):
    """An uploaded file above FLOWMETER_API_MAX_UPLOAD_BYTES (answered 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__("body", f"larger than FLOWMETER_API_MAX_UPLOAD_BYTES ({limit} bytes)")


@dataclass
class ApiState:
    """What the routes work with: the process's store, engine API, settings and tokens."""

    settings: Settings
    store: Store
    orchestrator: Callable[[], OrchestratorAPI]
    grants: Mapping[str, User]
    local_token: str | None


def state_of(request: Request) -> ApiState:
    """The ApiState of the application serving ``request``."""
    state: ApiState = request.app.state.flowmeter
    return state


_bearer = HTTPBearer(auto_error=False, description="A token of FLOWMETER_API_TOKENS.")


def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The authenticated caller; AuthenticationError (401) without a valid token."""
    state = state_of(request)
    header = f"Bearer {credentials.credentials}" if credentials is not None else None
    principal = identify(state.grants, state.local_token, header)
    if principal is None:
        raise AuthenticationError("missing or invalid API token (Authorization: Bearer <token>)")
    actor = request.headers.get(LOCAL_ACTOR_HEADER, "").strip()
    if principal.local and actor:
        principal = Principal(User(name=actor, role=principal.user.role), local=True)
    return principal


def reader(view: str) -> Callable[..., Principal]:
    """A dependency: the caller, refused (403) unless their role sees the dashboard ``view``."""
    roles = VIEWS[view]

    def check(principal: Annotated[Principal, Depends(caller)]) -> Principal:
        if principal.user.role not in roles:
            allowed = ", ".join(sorted(roles))
            raise PermissionDeniedError(
                f"{principal.user.name} ({principal.user.role}) may not read {view}; "
                f"roles allowed: {allowed}"
            )
        return principal

    return check


_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (UploadTooLargeError, 413),
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (NotFoundError, 404),
    (ReplayRefusedError, 409),
    (ReadOnlyError, 400),
    (CostImportError, 400),
    (KpiContractError, 400),
    (StoreError, 503),
    (OrchestratorError, 409),
    (FlowmeterError, 400),
    (ValueError, 400),
)


def _error(exc: Exception, status: int, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {"error": str(exc), "type": type(exc).__name__, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


async def _known_error(request: Request, exc: Exception) -> JSONResponse:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            field = {"field": exc.field} if isinstance(exc, BadInputError) else {}
            return _error(exc, status, **field)
    logger.exception("API %s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {"error": "internal error; the server log has the details", "type": "InternalError"},
        status_code=500,
    )


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    location = [str(part) for part in first.get("loc", ()) if part not in ("query", "body", "path")]
    field = ".".join(location) or "request"
    return _error(BadInputError(field, str(first.get("msg", "invalid"))), 400, field=field)


def build_app(state: ApiState) -> FastAPI:
    """The API application over ``state``; OpenAPI at /api/v1/openapi.json."""
    from app.api import reads, writes

    options: dict[str, Any] = {}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters:
        # FastAPI >= 0.165 instruments itself: its spans are not the product's telemetry.
        options["telemetry"] = {"tracing": False, "metrics": False, "logs": False,
                                "operation_spans": False, "auto_configure": False}  # fmt: skip
    app = FastAPI(
        title="Flowmeter API",
        version="1",
        summary="ROI, costs, KPIs, health and operations of a running Flowmeter.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        **options,
    )
    app.state.flowmeter = state
    app.add_exception_handler(RequestValidationError, _invalid_request)
    # Flowmeter's own errors and ValueError are answers (4xx); anything else is a bug (500).
    for kind in (FlowmeterError, ValueError, Exception):
        app.add_exception_handler(kind, _known_error)
    app.include_router(reads.router, prefix=API_PREFIX)
    app.include_router(writes.router, prefix=API_PREFIX)
    return app
