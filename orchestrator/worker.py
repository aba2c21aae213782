"""Worker threads, heartbeats and the continuous recovery sweep, as a ``flowmeter up`` Service."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence

from models.errors import LeaseLostError
from orchestrator.engine import Engine
from orchestrator.schedule import Schedule, tick
from orchestrator.state import Lease

__all__ = ["WorkerPool"]

logger = logging.getLogger(__name__)


class WorkerPool:
    """``threads`` workers claiming runs, one heartbeat thread renewing their leases, and a
    recovery sweep that returns expired leases to the queue (always, not only at start) and
    ticks the schedules."""

    name = "orchestrator-workers"

    def __init__(
        self,
        engine: Engine,
        *,
        threads: int = 2,
        poll_seconds: float = 0.2,
        on_tick: Callable[[], None] | None = None,
        schedules: Sequence[Schedule] = (),
    ) -> None:
        self.engine, self.threads, self.poll_seconds = engine, threads, poll_seconds
        self.on_tick, self.schedules = on_tick, tuple(schedules)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._held: dict[str, Lease] = {}
        self._held_lock = threading.Lock()
        self.prefix = f"{socket.gethostname()}:{os.getpid()}"
        self.completed = 0

    def start(self) -> None:
        """Start the worker, heartbeat and sweep threads."""
        self._stop.clear()
        for index in range(self.threads):
            self._spawn(f"fm-worker-{index}", self._work, f"{self.prefix}:{index}")
        self._spawn("fm-heartbeat", self._heartbeat)
        self._spawn("fm-sweep", self._sweep)

    def _spawn(self, name: str, target: Callable[..., None], *args: str) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout: float) -> None:
        """Stop claiming; running executions finish their current step, then threads exit."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout / max(1, len(self._threads)))
        self._threads.clear()

    def _work(self, owner: str) -> None:
        engine = self.engine
        while not self._stop.is_set():
            try:
                record = engine.store.claim(owner, engine.clock.now(), engine.lease_seconds)
                if record is None:
                    self._stop.wait(self.poll_seconds)
                    continue
                lease = Lease(record.id, owner, record.lease_token)
                with self._held_lock:
                    self._held[owner] = lease
                try:
                    engine.execute(record, lease)
                    self.completed += 1
                finally:
                    with self._held_lock:
                        self._held.pop(owner, None)
            except Exception:
                # One bad run must not kill the worker; it is logged and the lease expires.
                logger.exception("worker %s failed; continuing", owner)
                self._stop.wait(self.poll_seconds)

    def _heartbeat(self) -> None:
        interval = self.engine.lease_seconds / 3
        while not self._stop.wait(interval):
            with self._held_lock:
                held = list(self._held.values())
            for lease in held:
                try:
                    self.engine.store.heartbeat(lease, self.engine.clock.now(),
                                                self.engine.lease_seconds)  # fmt: skip
                except LeaseLostError as exc:
                    logger.warning("heartbeat: %s", exc)

    def _sweep(self) -> None:
        interval = min(5.0, self.engine.lease_seconds / 2)
        while not self._stop.wait(interval):
            try:
                recovered = self.engine.store.recover_expired(self.engine.clock.now())
                if recovered:
                    logger.warning("recovered %d runs with expired leases", len(recovered))
                for schedule in self.schedules:
                    tick(self.engine, schedule)
                if self.on_tick is not None:
                    self.on_tick()
            except Exception:
                logger.exception("recovery sweep failed; retrying")
