"""When the scheduled reports are due (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from app.reports.schedule import due_chargeback, due_digest


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_digest_covers_the_last_full_week_once_its_slot_has_passed() -> None:
    # Wednesday 2 December 2026: last full week is Mon 23 Nov - Mon 30 Nov.
    due = due_digest("mon 07:00", _at("2026-12-02 10:00"))
    assert due is not None and due.key == "digest:2026-11-23"
    assert (due.start, due.end) == (_at("2026-11-23 00:00"), _at("2026-11-30 00:00"))
    # Monday 30 Nov 06:59: this week's slot is a minute ahead, so the week before is the due one.
    assert due_digest("mon 07:00", _at("2026-11-30 06:59")).key == "digest:2026-11-16"  # type: ignore[union-attr]
    assert due_digest("mon 07:00", _at("2026-11-30 07:00")).key == "digest:2026-11-23"  # type: ignore[union-attr]
    assert due_digest("fri 17:30", _at("2026-12-04 17:29")).key == "digest:2026-11-16"  # type: ignore[union-attr]
    assert due_digest("off", _at("2026-12-02 10:00")) is None


def test_the_chargeback_covers_the_last_full_month() -> None:
    due = due_chargeback("1 07:00", _at("2026-12-02 10:00"))
    assert due is not None and due.key == "chargeback:2026-11"
    assert (due.start, due.end) == (_at("2026-11-01 00:00"), _at("2026-12-01 00:00"))
    assert due_chargeback("3 07:00", _at("2026-12-02 10:00")).key == "chargeback:2026-10"  # type: ignore[union-attr]
    january = due_chargeback("1 00:00", _at("2027-01-01 00:00"))
    assert january is not None and january.key == "chargeback:2026-12"
    assert due_chargeback("off", _at("2026-12-02 10:00")) is None
