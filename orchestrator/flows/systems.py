"""Simulated external systems (payments, ERP, CRM, e-mail, shipping) the demo flows call.

Latency is log-normal around a per-system median; failures are injected at seeded rates
(timeouts, 5xx, rate limits) and during outage windows. Each call is a Client span in the
engine's service with a Server child span under the system's own ``service.name``. The
randomness is derived from (seed, run, step, attempt), so a backfill is reproducible.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from orchestrator.execution import current_call

__all__ = [
    "SYSTEMS",
    "RateLimitedError",
    "SimulatedSystem",
    "UpstreamError",
    "UpstreamTimeoutError",
]

NS = 1_000_000_000


class UpstreamError(Exception):
    """An external system answered 5xx (retryable)."""


class UpstreamTimeoutError(UpstreamError):
    """An external system did not answer in time (retryable)."""


class RateLimitedError(UpstreamError):
    """An external system answered 429 (retryable)."""


@dataclass
class SimulatedSystem:
    """One external dependency with a latency distribution and failure rates."""

    service: str
    median_ms: float
    p_timeout: float = 0.01
    p_5xx: float = 0.02
    p_429: float = 0.01
    timeout_ms: float = 5000.0
    outages: list[tuple[float, float]] = field(default_factory=list)
    seed: int = 7
    manual_scale: float = 400.0  # a human doing the same operation by hand

    def _rng(self, operation: str) -> random.Random:
        call = current_call()
        basis = f"{self.seed}:{self.service}:{operation}"
        if call is not None:
            basis += f":{call.run.id}:{call.step_key}:{call.attempt}"
        return random.Random(int(hashlib.blake2b(basis.encode(), digest_size=8).hexdigest(), 16))

    def call(
        self, method: str, operation: str, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Perform one simulated request; raises an UpstreamError subclass on failure."""
        call = current_call()
        rng = self._rng(operation)
        latency = rng.lognormvariate(math.log(self.median_ms), 0.5) / 1000.0
        manual = call is not None and call.run.mode == "manual"
        if manual:
            latency *= self.manual_scale
        now = call.clock.now() if call is not None else 0.0
        in_outage = any(start <= now < end for start, end in self.outages)
        roll = rng.random() / (2.0 if manual else 1.0)  # people slip twice as often
        status, error = 200, None
        if in_outage or roll < self.p_5xx:
            status, error = 503, UpstreamError(f"{self.service} {method} {operation}: 503")
        elif roll < self.p_5xx + self.p_timeout:
            latency = self.timeout_ms / 1000.0
            status, error = 504, UpstreamTimeoutError(f"{self.service} {operation} timed out")
        elif roll < self.p_5xx + self.p_timeout + self.p_429:
            status, error = 429, RateLimitedError(f"{self.service} {operation}: 429 rate limited")
        if call is None:
            if error is not None:
                raise error
            return {"status": status}
        run = call.run
        attrs: dict[str, AttributeValue] = {"peer.service": self.service, "correlation.id": run.correlation_id,
                 "workflow.name": run.workflow, "tenant.id": run.tenant_id,
                 "product.line": run.product_line, "http.response.status_code": status}  # fmt: skip
        tel = call.telemetry
        if tel is None:
            call.clock.sleep(latency)
        else:
            name = f"{method} {operation}"
            with tel.span(name, run.traceparent, now, attrs, kind=SpanKind.CLIENT) as client:
                server = tel.tracer_for(self.service).start_span(
                    name, kind=SpanKind.SERVER, attributes=attrs, start_time=int(now * NS) + 1000
                )
                call.clock.sleep(latency)
                end = call.clock.now()
                for span in (server, client):
                    if error is not None:
                        span.set_status(Status(StatusCode.ERROR, str(error)))
                server.end(end_time=int(end * NS) - 1000)
                client.end(end_time=int(end * NS))
        if error is not None:
            raise error
        return {"status": status, "latency_ms": round(latency * 1000, 1)}


def default_systems(seed: int) -> dict[str, SimulatedSystem]:
    """The five systems the demo flows call, with their personalities."""
    return {
        "payments": SimulatedSystem("payments-api", 180, p_5xx=0.03, p_429=0.02, seed=seed),
        "erp": SimulatedSystem("erp", 450, p_timeout=0.03, p_5xx=0.02, seed=seed),
        "crm": SimulatedSystem("crm", 220, p_429=0.04, seed=seed),
        "email": SimulatedSystem("email", 90, p_5xx=0.01, seed=seed),
        "shipping": SimulatedSystem("shipping", 320, p_timeout=0.02, seed=seed),
    }


SYSTEMS: dict[str, SimulatedSystem] = default_systems(7)
