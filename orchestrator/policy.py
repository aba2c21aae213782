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
    ``reset_timeout``; one successful trial closes it, a failed one re-opens it.

    With ``shared`` (the state and time another process last recorded for this breaker, e.g.
    from the state database), a closed breaker adopts a newer ``open`` and an open one a newer
    ``closed``, checked at most every ``sync_every`` seconds: N workers stop calling a failing
    dependency when one of them has seen it fail, not after N x ``failure_threshold`` calls.
    """

    name: str
    clock: Clock
    failure_threshold: int = 5
    reset_timeout: float = 30.0
    on_change: Callable[[str, str, str], None] | None = None
    shared: Callable[[], tuple[str, float] | None] | None = None
    sync_every: float = 1.0
    state: str = CLOSED
    failures: int = 0
    opened_at: float = 0.0
    _trial_out: bool = field(default=False, repr=False)
    _changed_at: float = field(default=float("-inf"), repr=False)
    _synced_at: float = field(default=float("-inf"), repr=False)

    def _move(self, to: str) -> None:
        before, self.state = self.state, to
        self._changed_at = self.clock.now()
        if to == OPEN:
            self.opened_at = self._changed_at
        if self.on_change is not None and before != to:
            self.on_change(self.name, before, to)

    def _sync(self) -> None:
        """Adopt a newer open / closed state recorded elsewhere (not reported again)."""
        now = self.clock.now()
        if self.shared is None or now - self._synced_at < self.sync_every:
            return
        self._synced_at = now
        seen = self.shared()
        if seen is None or seen[1] <= self._changed_at:
            return
        state, at = seen
        if state == OPEN and self.state == CLOSED:
            self.state, self.opened_at, self._changed_at = OPEN, at, at
        elif state == CLOSED and self.state != CLOSED:
            self.state, self.failures, self._changed_at = CLOSED, 0, at
            self._trial_out = False

    def allow(self) -> bool:
        """May a call go through now? (In half-open, only one trial at a time.)"""
        self._sync()
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
