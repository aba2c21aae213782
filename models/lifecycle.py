"""The contract every long-running component of ``flowmeter up`` implements."""

from __future__ import annotations

from typing import Protocol

__all__ = ["Service"]


class Service(Protocol):
    """Something ``flowmeter up`` starts after the store and stops before it closes."""

    name: str

    def start(self) -> None:
        """Start serving (threads, sockets); return once it accepts work."""

    def stop(self, timeout: float) -> None:
        """Stop taking work, flush what is buffered, and return within ``timeout`` seconds."""
