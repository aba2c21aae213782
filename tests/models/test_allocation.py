from __future__ import annotations

from decimal import Decimal

import pytest

from models.allocation import CostLine, allocate, split_exact

D = Decimal


def test_split_exact_reconciles_to_the_last_digit() -> None:
    parts = split_exact(D("100.00"), {"a": D(1), "b": D(1), "c": D(1)})
    assert sum(parts.values()) == D("100.00")
    assert sorted(parts.values()) == [D("33.33"), D("33.33"), D("33.34")]


def test_split_keeps_source_precision() -> None:
    amount = D("0.1000000001")
    parts = split_exact(amount, {"a": D(2), "b": D(1)})
    assert sum(parts.values()) == amount


def test_split_rejects_all_zero_weights() -> None:
    with pytest.raises(ValueError, match="every weight is zero"):
        split_exact(D(1), {"a": D(0)})


LINES = [
    CostLine("acme", "USD", "tag", D("10"), D("9")),
    CostLine("", "USD", "shared", D("100.01"), D("90")),
    CostLine("", "USD", "unallocated", D("5"), D("5")),
]


def _total(lines: list[CostLine]) -> tuple[Decimal, Decimal]:
    return sum((x.billed for x in lines), D(0)), sum((x.effective for x in lines), D(0))


@pytest.mark.parametrize(
    ("policy", "usage", "weights", "expected"),
    [
        ("proportional", {"acme": D(3), "globex": D(1)}, None,
         {"acme": D("75.01"), "globex": D("25.00")}),
        ("even", {"globex": D(7)}, None, {"acme": D("50.01"), "globex": D("50.00")}),
        ("weights", None, {"acme": D(1), "globex": D(4)}, {"acme": D("20.00"), "globex": D("80.01")}),
    ],
)  # fmt: skip
def test_each_policy_reconciles_and_records_itself(
    policy: str,
    usage: dict[str, Decimal] | None,
    weights: dict[str, Decimal] | None,
    expected: dict[str, Decimal],
) -> None:
    result = allocate(LINES, policy=policy, usage=usage, weights=weights)
    assert _total(result) == _total(LINES)
    pieces = {x.key: x.billed for x in result if x.method == f"shared:{policy}"}
    assert pieces == expected
    assert [x for x in result if x.method == "unallocated"] == [LINES[2]]


def test_no_usage_keeps_shared_cost_visible_as_unallocated() -> None:
    result = allocate(LINES[1:2], policy="proportional", usage={})
    assert result == [CostLine("", "USD", "unallocated", D("100.01"), D("90"))]


def test_unknown_policy() -> None:
    with pytest.raises(ValueError, match="allocation policy"):
        allocate(LINES, policy="random")
