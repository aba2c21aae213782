"""Time for the engine: the wall clock in production, a virtual one for tests and backfill."""

from __future__ import annotations

import threading
import time
from typing import Protocol

__all__ = ["Clock", "SystemClock", "VirtualClock"]


class Clock(Protocol):
    """Where the engine reads the time and waits; injected so tests and backfills control it."""

    def now(self) -> float:
        """Seconds since the epoch."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a virtual clock just moves forward)."""


class SystemClock:
    """The real wall clock."""

    def now(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """Block the calling thread."""
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock:
    """A clock that only moves when told: sleeping advances it instantly."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        """The virtual time."""
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        """Advance the virtual time by ``seconds``."""
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        """Move forward by ``seconds`` (never backwards)."""
        with self._lock:
            self._now += max(0.0, seconds)

    def set(self, when: float) -> None:
        """Jump forward to ``when`` if it is later than now."""
        with self._lock:
            self._now = max(self._now, when)
