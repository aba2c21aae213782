"""Pure resilience rules: retry policy with full-jitter backoff, and the circuit breaker."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from orchestrator.clock import Clock

__all__ = ["BREAKER_GAUGE", "CLOSED", "HALF_OPEN", "OPEN", "CircuitBreaker", "RetryPolicy"]

CLOSED, HALF_OPEN, OPEN = "closed", "half_open", "open"
BREAKER_GAUGE = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a step is retried."""

    max_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 30.0
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    no_retry_on: tuple[type[BaseException], ...] = ()

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("RetryPolicy delays must not be negative")

    def retryable(self, error: BaseException) -> bool:
        """True when ``error`` is of a kind this policy retries."""
        if isinstance(error, self.no_retry_on):
            return False
        return isinstance(error, self.retry_on)

    def ceiling(self, attempt: int) -> float:
        """The largest delay after failed attempt number ``attempt`` (1-based)."""
        return min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: a uniform delay between 0 and the exponential ceiling."""
        return rng.uniform(0.0, self.ceiling(attempt))


@dataclass
class CircuitBreaker:
    """Closed -> open after ``failure_threshold`` consecutive failures; half-open after
    ``reset_timeout``; one successful trial closes it, a failed one re-opens it."""

    name: str
    clock: Clock
    failure_threshold: int = 5
    reset_timeout: float = 30.0
    on_change: Callable[[str, str, str], None] | None = None
    state: str = CLOSED
    failures: int = 0
    opened_at: float = 0.0
    _trial_out: bool = field(default=False, repr=False)

    def _move(self, to: str) -> None:
        before, self.state = self.state, to
        if to == OPEN:
            self.opened_at = self.clock.now()
        if self.on_change is not None and before != to:
            self.on_change(self.name, before, to)

    def allow(self) -> bool:
        """May a call go through now? (In half-open, only one trial at a time.)"""
        if self.state == OPEN:
            if self.clock.now() - self.opened_at < self.reset_timeout:
                return False
            self._move(HALF_OPEN)
            self._trial_out = False
        if self.state == HALF_OPEN:
            if self._trial_out:
                return False
            self._trial_out = True
        return True

    def retry_after(self) -> float:
        """Seconds until an open breaker lets a trial through."""
        if self.state != OPEN:
            return 0.0
        return max(0.0, self.reset_timeout - (self.clock.now() - self.opened_at))

    def record_success(self) -> None:
        """A call succeeded."""
        self.failures = 0
        self._trial_out = False
        if self.state != CLOSED:
            self._move(CLOSED)

    def record_failure(self) -> None:
        """A call failed."""
        self._trial_out = False
        if self.state == HALF_OPEN:
            self._move(OPEN)
            return
        self.failures += 1
        if self.state == CLOSED and self.failures >= self.failure_threshold:
            self._move(OPEN)
