"""ROI math against hand-computed cases."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from models.roi import (
    Baseline,
    VolumeBucket,
    baseline_at,
    manual_cost_per_transaction,
    payback_days,
    roi_figures,
)

D = Decimal
START = datetime(2026, 3, 1)
END = datetime(2026, 3, 3)
V1 = Baseline("invoice", 1, datetime(2026, 1, 1), D("6"), D("40"), "EUR", D("0.05"), D("20"))
V2 = Baseline("invoice", 2, datetime(2026, 3, 2), D("3"), D("40"), "EUR", D("0"), D("20"))


def test_manual_cost_per_transaction_by_hand() -> None:
    # 6/60*40 = 4.00 ; 0.05*20 = 1.00 -> 5.00
    assert manual_cost_per_transaction(V1) == D("5")


def test_single_baseline_failed_runs_excluded() -> None:
    volumes = [VolumeBucket(datetime(2026, 3, 1, 9), "invoice", completed=100, failed=10, other=2)]
    costs = {("invoice", datetime(2026, 3, 1)): D("100")}
    (fig,) = roi_figures(volumes, [V1], costs, START, datetime(2026, 3, 2))
    assert fig.baseline_version == 1
    assert fig.volume == 100 and fig.excluded_runs == 12
    assert fig.hours_saved == D("10")  # 100 x 6 / 60
    assert fig.manual_cost_avoided == D("500")  # 100 x 5
    assert fig.net_savings == D("400")
    assert fig.roi_percent == D("400")  # 400 / 100 x 100
    assert fig.estimated_savings == D("550")  # 110 attempted x 5
    assert fig.actual_savings == D("300")  # 500 - 10 x 20
    assert fig.currency == "EUR"


def test_zero_volume_and_zero_cost() -> None:
    (fig,) = roi_figures([VolumeBucket(START, "invoice", 0)], [V1], {}, START, END)
    assert fig.volume == 0
    assert fig.manual_cost_avoided == 0 and fig.net_savings == 0
    assert fig.roi_percent is None


def test_zero_volume_with_cost_is_a_loss() -> None:
    (fig,) = roi_figures([], [V1], {("invoice", START): D("30")}, START, END)
    assert fig.volume == 0 and fig.net_savings == D("-30") and fig.roi_percent == D("-100")


def test_baseline_change_mid_period_splits_by_version() -> None:
    volumes = [
        VolumeBucket(datetime(2026, 3, 1, 12), "invoice", completed=10),
        VolumeBucket(datetime(2026, 3, 2, 0), "invoice", completed=10),  # V2 from this instant
        VolumeBucket(datetime(2026, 3, 2, 5), "invoice", completed=20, failed=1),
    ]
    costs = {("invoice", datetime(2026, 3, 1)): D("10"), ("invoice", datetime(2026, 3, 2)): D("5")}
    v1, v2 = roi_figures(volumes, [V1, V2], costs, START, END)
    assert (v1.baseline_version, v1.volume, v1.manual_cost_avoided) == (1, 10, D("50"))
    assert v1.net_savings == D("40")
    # V2: 3/60*40 = 2.00 per transaction, no error component; 30 completed -> 60
    assert (v2.baseline_version, v2.volume, v2.manual_cost_avoided) == (2, 30, D("60"))
    assert v2.hours_saved == D("1.5")
    assert v2.platform_cost == D("5") and v2.excluded_runs == 1
    assert v2.actual_savings == D("40")  # 60 - 1 x 20


def test_runs_before_any_baseline_claim_nothing() -> None:
    early = VolumeBucket(datetime(2025, 12, 31), "invoice", completed=50)
    (fig,) = roi_figures([early], [V1], {}, datetime(2025, 12, 1), START)
    assert fig.baseline_version is None
    assert fig.manual_cost_avoided == 0 and fig.volume == 50


def test_baseline_at_picks_latest_effective() -> None:
    assert baseline_at([V1, V2], "invoice", datetime(2026, 3, 1, 23)) == V1
    assert baseline_at([V1, V2], "invoice", datetime(2026, 3, 2)) == V2
    assert baseline_at([V1, V2], "refund", datetime(2026, 3, 2)) is None


def test_payback_days() -> None:
    days = [(date(2026, 3, d), net) for d, net in ((1, D("-100")), (2, D("60")), (3, D("60")))]
    assert payback_days(days) == 3  # cumulative -100, -40, +20
    assert payback_days(days, investment=D("50")) is None
    assert payback_days([(date(2026, 3, 1), D("5"))]) == 1
    assert payback_days([]) is None
