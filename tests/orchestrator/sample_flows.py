"""Workflows the engine tests run (importable by worker subprocesses)."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from models.errors import PoisonMessageError
from orchestrator.engine import current_call
from orchestrator.policy import RetryPolicy
from orchestrator.workflow import kpi, step, wait_for_approval, workflow
from tests.orchestrator.ledger import Ledger

_ledger: dict[str, Ledger] = {}
calls: list[str] = []  # in-process record of step calls, for single-process tests
failures: dict[str, int] = {}  # step name -> how many more times it fails


def ledger() -> Ledger:
    """The ledger named by the environment (LEDGER_DSN, LEDGER_SCHEMA)."""
    dsn = os.environ["LEDGER_DSN"]
    if dsn not in _ledger:
        _ledger[dsn] = Ledger(dsn, os.environ.get("LEDGER_SCHEMA") or None)
    return _ledger[dsn]


def _post(name: str, amount: int) -> dict[str, Any]:
    call = current_call()
    assert call is not None and call.idempotency_key is not None
    ledger().apply(call.idempotency_key, amount, call.run.id, os.getpid())
    if os.environ.get("BLOCK_AFTER") == name:
        print(f"APPLIED {name} {call.run.id}", flush=True)
        threading.Event().wait()  # parked until the test SIGKILLs this process
    return {"posted": name, "amount": amount}


def _key(name: str) -> Any:
    return lambda order: f"{name}:{order['id']}"


@step("reserve", idempotency_key=_key("reserve"))
def reserve(order: dict[str, Any]) -> dict[str, Any]:
    return _post("reserve", order["amount"])


@step("charge", idempotency_key=_key("charge"))
def charge(order: dict[str, Any]) -> dict[str, Any]:
    return _post("charge", order["amount"])


@step("ship", idempotency_key=_key("ship"))
def ship(order: dict[str, Any]) -> dict[str, Any]:
    return _post("ship", 0)


@step("invoice", idempotency_key=_key("invoice"))
def invoice(order: dict[str, Any]) -> dict[str, Any]:
    kpi("invoice_posted", amount=float(order["amount"]), currency="EUR")
    return _post("invoice", order["amount"])


@workflow("ledger_flow")
def ledger_flow(order: dict[str, Any]) -> dict[str, Any]:
    reserve(order)
    charge(order)
    ship(order)
    invoice(order)
    return {"order": order["id"], "done": True}


@step("record_execution")
def record_execution(n: int) -> int:
    call = current_call()
    assert call is not None
    ledger().apply(f"exec:{call.run.id}", n, call.run.id, os.getpid())
    return n


@workflow("count_flow")
def count_flow(payload: dict[str, Any]) -> int:
    return int(record_execution(payload["n"]))


# --- in-process flows: retries, breakers, sagas, approvals ---------------------------------
class FlakyError(Exception):
    """A transient failure."""


class FatalError(Exception):
    """A permanent failure."""


def _maybe_fail(name: str) -> None:
    calls.append(name)
    left = failures.get(name, 0)
    if left:
        failures[name] = left - 1
        raise FlakyError(f"{name} is flaky")


FLAKY_POLICY = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=5.0,
                           retry_on=(FlakyError,), no_retry_on=(FatalError,))  # fmt: skip


@step("flaky", dependency="erp", retry=FLAKY_POLICY)
def flaky(x: int) -> int:
    _maybe_fail("flaky")
    return x + 1


@workflow("retry_flow")
def retry_flow(payload: dict[str, Any]) -> int:
    return int(flaky(payload["x"]))


@step("undo_book_hotel")
def undo_book_hotel(trip: str, booking: str) -> None:
    calls.append(f"undo:{booking}")


@step("undo_book_flight")
def undo_book_flight(trip: str, booking: str) -> None:
    calls.append(f"undo:{booking}")


@step("book_hotel", compensate=undo_book_hotel)
def book_hotel(trip: str) -> str:
    calls.append("book_hotel")
    return f"hotel-{trip}"


@step("book_flight", compensate=undo_book_flight)
def book_flight(trip: str) -> str:
    calls.append("book_flight")
    return f"flight-{trip}"


@step("charge_card", retry=RetryPolicy(max_attempts=1))
def charge_card(trip: str) -> str:
    calls.append("charge_card")
    raise FatalError("card declined")


@workflow("trip_saga")
def trip_saga(payload: dict[str, Any]) -> str:
    book_hotel(payload["trip"])
    book_flight(payload["trip"])
    return str(charge_card(payload["trip"]))


def _validate_refund(payload: Any) -> None:
    if not isinstance(payload, dict) or not isinstance(payload.get("amount"), int | float):
        raise PoisonMessageError("refund payload: field 'amount' must be a number")


@step("pay_refund", retry=RetryPolicy(max_attempts=2, base_delay=0.0, retry_on=(FlakyError,)),
      idempotency_key=lambda p: f"refund:{p['id']}")  # fmt: skip
def pay_refund(payload: dict[str, Any]) -> str:
    calls.append("pay_refund")
    left = failures.get("pay_refund", 0)
    if left:
        failures["pay_refund"] = left - 1
        raise FlakyError("payments 503")
    return f"refunded {payload['amount']}"


@step("check_refund")
def check_refund(payload: dict[str, Any]) -> bool:
    calls.append("check_refund")
    return True


@workflow("refund_flow", validate=_validate_refund)
def refund_flow(payload: dict[str, Any]) -> str:
    check_refund(payload)
    return str(pay_refund(payload))


@workflow("approval_flow")
def approval_flow(payload: dict[str, Any]) -> str:
    decision = wait_for_approval("manager", timeout=3600)
    calls.append(f"decided:{decision}")
    return decision


if __name__ == "__main__":
    sys.exit("import me")


@step("summarise_window")
def summarise_window(start: float, end: float) -> str:
    calls.append(f"window:{int(start)}-{int(end)}")
    return "ok"


@workflow("nightly_batch")
def nightly_batch(payload: dict[str, Any]) -> str:
    return str(summarise_window(payload["window_start"], payload["window_end"]))


finished = threading.Event()
finish_after = {"left": 0}
_finish_lock = threading.Lock()


@step("tally")
def tally(n: int) -> int:
    with _finish_lock:
        calls.append(f"tally:{n}")
        finish_after["left"] -= 1
        if finish_after["left"] == 0:
            finished.set()
    return n


@workflow("tally_flow")
def tally_flow(payload: dict[str, Any]) -> int:
    return int(tally(payload["n"]))
