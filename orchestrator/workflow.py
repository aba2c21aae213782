"""Workflows are plain functions; steps are decorated functions they call.

    @step(dependency="payments", retry=RetryPolicy(max_attempts=5),
          idempotency_key=lambda order: f"charge:{order['id']}", compensate=refund)
    def charge(order): ...

    @workflow("order_to_cash")
    def order_to_cash(payload):
        order = validate(payload)
        receipt = charge(order)
        ...

Inside a run, calling a step goes through the engine (checkpoint, retry, breaker, span);
outside a run it is an ordinary function call. A workflow function must be deterministic
given its steps' results, because a resumed run replays it from the checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from orchestrator.policy import RetryPolicy

__all__ = [
    "STEPS",
    "WORKFLOWS",
    "Step",
    "StepRunner",
    "Workflow",
    "as_money",
    "kpi",
    "step",
    "wait_for_approval",
    "workflow",
]


class StepRunner(Protocol):
    """What a running workflow calls into (the engine's per-run context)."""

    def call_step(self, step: Step, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run or replay one step."""

    def wait_for_approval(self, name: str, timeout: float) -> str:
        """Suspend until approved/rejected or timed out; return the decision."""

    def kpi(self, name: str, value: float, amount: Decimal | None, currency: str) -> None:
        """Emit a ``kpi.<name>`` event for this run (``amount`` exact, never a float)."""


_runner: ContextVar[StepRunner | None] = ContextVar("flowmeter_step_runner", default=None)


def bind_runner(runner: StepRunner | None) -> Any:
    """Make ``runner`` current; returns the token to reset it."""
    return _runner.set(runner)


def unbind_runner(token: Any) -> None:
    """Undo bind_runner."""
    _runner.reset(token)


@dataclass(eq=False)
class Step:
    """One named, checkpointed unit of a workflow."""

    fn: Callable[..., Any]
    name: str
    dependency: str = ""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float | None = None
    idempotency_key: Callable[..., str] | None = None
    compensate: Step | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        runner = _runner.get()
        if runner is None:
            return self.fn(*args, **kwargs)
        return runner.call_step(self, args, kwargs)


STEPS: dict[str, Step] = {}


def step(
    name: str | None = None,
    *,
    dependency: str = "",
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
    idempotency_key: Callable[..., str] | None = None,
    compensate: Step | None = None,
) -> Callable[[Callable[..., Any]], Step]:
    """Declare a step: retry policy, timeout, circuit-breaker dependency, idempotency key
    (derived from the step's arguments) and compensation (a step called with the same
    arguments plus this step's result)."""

    def decorate(fn: Callable[..., Any]) -> Step:
        declared = Step(
            fn=fn, name=name or fn.__name__, dependency=dependency,
            retry=retry or RetryPolicy(), timeout=timeout,
            idempotency_key=idempotency_key, compensate=compensate,
        )  # fmt: skip
        STEPS[declared.name] = declared
        return declared

    return decorate


@dataclass(eq=False)
class Workflow:
    """A named workflow function taking the run's payload."""

    name: str
    fn: Callable[[Any], Any]
    validate: Callable[[Any], None] | None = None


WORKFLOWS: dict[str, Workflow] = {}


def workflow(
    name: str, *, validate: Callable[[Any], None] | None = None
) -> Callable[[Callable[[Any], Any]], Workflow]:
    """Register a workflow under ``name``; ``validate`` raises PoisonMessageError on bad input."""

    def decorate(fn: Callable[[Any], Any]) -> Workflow:
        declared = Workflow(name=name, fn=fn, validate=validate)
        WORKFLOWS[name] = declared
        return declared

    return decorate


def wait_for_approval(name: str, timeout: float) -> str:
    """Inside a workflow: wait durably for ``approved``/``rejected``; raises
    ApprovalTimeoutError after ``timeout`` seconds."""
    runner = _runner.get()
    if runner is None:
        raise RuntimeError("wait_for_approval is only meaningful inside a workflow run")
    return runner.wait_for_approval(name, timeout)


def kpi(
    name: str, value: float = 1.0, *, amount: Decimal | float | str | None = None,
    currency: str = "",
) -> None:  # fmt: skip
    """Inside a step or workflow: record a business moment (``kpi.<name>`` log event);
    ``amount`` is money, best a Decimal (see as_money for ints, text and floats)."""
    runner = _runner.get()
    if runner is not None:
        runner.kpi(name, value, None if amount is None else as_money(amount), currency)


def as_money(amount: Decimal | float | str) -> Decimal:
    """``amount`` as an exact Decimal. A float is taken at its shortest repr (what the
    author wrote: 40.0, 19.99) only when that has at most 4 decimal places, so binary noise
    such as 0.1 + 0.2 = 0.30000000000000004 is refused (ValueError), never rounded."""
    if isinstance(amount, Decimal):
        return amount
    if isinstance(amount, bool):
        raise ValueError(f"kpi amount must be a number, not {amount!r}")
    if isinstance(amount, float):
        exact = Decimal(repr(amount))
        if not exact.is_finite() or int(exact.as_tuple().exponent) < -4:
            raise ValueError(
                f"kpi amount {amount!r} is a float that is not an exact amount of money "
                "(more than 4 decimal places): pass a Decimal, e.g. Decimal('0.1') + "
                "Decimal('0.2')"
            )
        return exact
    try:
        return Decimal(amount)
    except InvalidOperation:
        raise ValueError(f"kpi amount {amount!r} is not a decimal number") from None
