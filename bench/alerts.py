"""Alert evaluation speed: one round of 200 rules over the 10M-span store of bench/queries.py.

200 rules cycle over every measure of the catalog (half of them grouped, a tenth comparing
with the previous period, windows from 15 minutes to a day). The timed figures, all in the
same run and on the same store:

- baseline: each rule's measure read by hand (``current_values``: the measure function, and
  the earlier period for a comparison rule), one rule after the other;
- round: ``AlertService.evaluate`` over all 200 rules, which also moves and saves every
  group's state, appends the history and reads the business context of new firing alerts
  (no channel is configured, so nothing is sent).

The first round starts from no state (every breach is a transition); the second is the
steady state every later interval looks like. Each round is compared with a baseline pass run
just before it. Wall time (perf_counter) and CPU time (process_time: every thread of this
process, chDB's included) are printed per round and per rule, with the ratio.

    .venv/bin/python bench/alerts.py [--store /tmp/alertspage-bench] [--runs 2000000]

The store is built (several minutes) or reused exactly as by bench/queries.py --store.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.alerts.service import AlertService
from bench.queries import DAYS, START, loadavg, open_store
from models.alerts.evaluate import current_values
from models.alerts.measures import MEASURES, MeasureContext
from models.alerts.rules import Rule, parse_rules
from models.db import Store
from models.settings import load_settings

RULES = 200
TARGET_ROUND_S = 60.0
WINDOWS = ("15m", "1h", "6h", "1d")


def rules_text(count: int) -> str:
    """``count`` rules cycling over the measures; every other one grouped by one of its groups."""
    measures = sorted(MEASURES.values(), key=lambda m: m.name)
    blocks = []
    for i in range(count):
        measure = measures[i % len(measures)]
        lines = [
            "[[rule]]",
            f'name = "bench {i:03d} {measure.name}"',
            f'measure = "{measure.name}"',
            f'window = "{WINDOWS[(i // len(measures)) % len(WINDOWS)]}"',
            'condition = "> 0"',
            'interval = "1m"',
        ]
        if i % 2:
            group = measure.groups[(i // 2) % len(measure.groups)]
            lines.append(f'group_by = ["{group}"]')
        if i % 10 == 4 and not measure.needs_budget:
            lines.append('change = "previous_period"')
        if measure.needs_budget:
            lines.append('budget = "1000"')
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float


def timed(fn: Callable[[], object]) -> Timing:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return Timing(time.perf_counter() - wall, time.process_time() - cpu)


def baseline(ctx: MeasureContext, rules: list[Rule], now: datetime) -> None:
    for rule in rules:
        current_values(ctx, rule, now)


def report(label: str, round_: Timing, base: Timing, transitions: int, count: int) -> None:
    print(f"{label} ({transitions} transitions)")
    print(f"  baseline by hand  wall {base.wall:7.2f} s  cpu {base.cpu:7.2f} s  "
          f"per rule: wall {base.wall / count * 1000:6.0f} ms  cpu {base.cpu / count * 1000:6.0f} ms")  # fmt: skip
    print(f"  evaluation round  wall {round_.wall:7.2f} s  cpu {round_.cpu:7.2f} s  "
          f"per rule: wall {round_.wall / count * 1000:6.0f} ms  cpu {round_.cpu / count * 1000:6.0f} ms")  # fmt: skip
    print(f"  ratio round / baseline: wall {round_.wall / base.wall:.2f}x  "
          f"cpu {round_.cpu / base.cpu:.2f}x  ({loadavg()})")  # fmt: skip
    verdict = "inside" if round_.wall < TARGET_ROUND_S else "OUTSIDE"
    print(f"  goal: a round well inside {TARGET_ROUND_S:.0f} s: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path("/tmp/alertspage-bench"))
    parser.add_argument("--runs", type=int, default=2_000_000, help="runs (x5 spans)")
    parser.add_argument("--chunk", type=int, default=250_000)
    parser.add_argument("--rules", type=int, default=RULES)
    args = parser.parse_args()

    args.store.mkdir(parents=True, exist_ok=True)
    store: Store = open_store(args.store.resolve(), args.runs, args.chunk)
    try:
        for table in ("alert_state", "alert_history", "alert_silences"):
            store.ddl(f"TRUNCATE TABLE {table}")  # the first round starts from no state
        rules = parse_rules(rules_text(args.rules), MEASURES, "bench rules")
        grouped = sum(1 for r in rules if r.group_by)
        print(f"{len(rules)} rules over {len(MEASURES)} measures, {grouped} grouped "
              f"({args.runs * 5:,} spans; {loadavg()})")  # fmt: skip
        now = (START + timedelta(days=DAYS)).replace(tzinfo=UTC)  # the end of the loaded data
        settings = load_settings({})
        service = AlertService(settings, store, rules, sleep=lambda _: None)
        ctx = MeasureContext(store, slo_success_target=settings.slo_success_target,
                             policy=settings.cost_allocation_policy,
                             weights=dict(settings.cost_allocation_weights))  # fmt: skip
        found: list[int] = []
        for label in ("first round (no state yet)", "steady round (state loaded)"):
            base = timed(lambda: baseline(ctx, rules, now))
            round_ = timed(lambda: found.append(len(service.evaluate(now, force=True))))
            report(label, round_, base, found[-1], len(rules))
        firing = sum(1 for s in (service.states or {}).values() if s.state == "firing")
        print(f"groups evaluated: {len(service.states or {})}, firing: {firing}")
        service.stop(0)
    finally:
        store.close()


if __name__ == "__main__":
    main()
