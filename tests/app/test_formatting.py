from __future__ import annotations

import pytest

from app.formatting import duration_ms


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "–"),
        (850.0, "850 ms"),
        (12_400.0, "12.4 s"),
        (150_000.0, "2.5 min"),
        (7_455_800.0, "2.1 h"),
    ],
)
def test_duration_reads_in_the_largest_short_unit(value: float | None, text: str) -> None:
    assert duration_ms(value) == text
