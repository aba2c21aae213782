"""The contract every long-running component of ``flowmeter up`` implements."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Protocol

__all__ = ["STOP_BUDGET_SECONDS", "Service", "stop_services"]

logger = logging.getLogger(__name__)

STOP_BUDGET_SECONDS = 8.0


class Service(Protocol):
    """Something ``flowmeter up`` starts after the store and stops before it closes."""

    name: str

    def start(self) -> None:
        """Start serving (threads, sockets); return once it accepts work."""

    def stop(self, timeout: float) -> None:
        """Stop taking work, flush what is buffered, and return within ``timeout`` seconds."""


def stop_services(started: Sequence[Service], budget: float = STOP_BUDGET_SECONDS) -> None:
    """Stop services in reverse start order within one shared time budget; log, never raise."""
    deadline = time.monotonic() + budget
    for service in reversed(started):
        try:
            service.stop(max(0.5, deadline - time.monotonic()))
        except Exception:
            logger.exception("stopping %s failed", service.name)
