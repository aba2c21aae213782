"""Sign-in rate limits: failed password sign-ins counted per user name and per client address.

Pure and in-process (one dashboard process serves every session; ``frame`` keeps one
``SignInLimiter`` in ``st.cache_resource``). A refused attempt is refused *before* the scrypt
check, so a flood of guesses costs neither CPU nor 128 MiB of scrypt memory per guess.
Counts live in a sliding window; a successful sign-in clears the user's count (not the
client's: one address guessing many users stays limited).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from models.errors import AuthenticationError

__all__ = ["SignInLimiter", "SignInLimits", "TooManySignInsError"]

# Distinct names/addresses remembered at once: a flood of invented names cannot grow memory.
_MAX_KEYS = 10_000


class TooManySignInsError(AuthenticationError):
    """Too many failed sign-ins for this user or from this client; ``retry_after`` in s."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many sign-in attempts; try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class SignInLimits:
    """How many failed sign-ins are allowed within ``window_seconds``."""

    per_user: int  # failures for one user name (FLOWMETER_SIGNIN_MAX_FAILURES_PER_USER)
    per_client: int  # failures from one client address (..._PER_CLIENT)
    window_seconds: float  # the sliding window (FLOWMETER_SIGNIN_WINDOW_SECONDS)


class SignInLimiter:
    """Counts failed sign-ins per user and per client; thread-safe."""

    def __init__(self, limits: SignInLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._guard = threading.Lock()

    def check(self, user: str, client: str) -> None:
        """Raise TooManySignInsError when either the user or the client is over its limit."""
        with self._guard:
            now = self._clock()
            waits = [self._wait(key, limit, now) for key, limit in self._keys(user, client)]
        wait = max(waits)
        if wait > 0:
            raise TooManySignInsError(max(1, math.ceil(wait)))

    def failed(self, user: str, client: str) -> None:
        """Count one failed sign-in against the user and the client."""
        with self._guard:
            now = self._clock()
            for key, _ in self._keys(user, client):
                times = self._failures.pop(key, None) or deque()
                times.append(now)
                self._failures[key] = times  # most recent last
            while len(self._failures) > _MAX_KEYS:
                self._failures.popitem(last=False)

    def succeeded(self, user: str) -> None:
        """Forget the user's failures after a successful sign-in."""
        with self._guard:
            self._failures.pop(f"user:{user.strip().lower()}", None)

    def _keys(self, user: str, client: str) -> list[tuple[str, int]]:
        return [
            (f"user:{user.strip().lower()}", self.limits.per_user),
            (f"client:{client}", self.limits.per_client),
        ]

    def _wait(self, key: str, limit: int, now: float) -> float:
        """Seconds until ``key`` may try again (0 = now); drops failures out of the window."""
        times = self._failures.get(key)
        if not times:
            return 0.0
        window = self.limits.window_seconds
        while times and times[0] <= now - window:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0.0
        if len(times) < limit:
            return 0.0
        return times[-limit] + window - now  # when the limit-th newest failure leaves
