"""The gate's power table: planted-bug detection and false alarms against items per task.

For each number of scored items per task (4 completions per prompt, 20% of items scored by
a second person, as the app assigns by default) and two annotator noise levels, the share
of seeded simulated audits in which the gate (shipped thresholds, min_items set to the
row's size) fails the planted bug and fails the correct reward. Simulation:
tests/gate_simulation.py. The table in docs/audit.md comes from this script.

    .venv/bin/python bench/gate_power.py [--seeds 100]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.gate_simulation import TASKS, rates  # noqa: E402

SIZES = (20, 40, 60, 80, 100, 120, 160)
NOISES = (0.6, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100, help="simulated audits per cell (default 100)")
    args = parser.parse_args()
    started = time.perf_counter()
    seeds = range(1, args.seeds + 1)
    for task in TASKS:
        cells = {(n, noise): rates(n, noise, seeds, task=task) for noise in NOISES for n in SIZES}
        head = " | ".join(f"noise {noise} (alpha {cells[(100, noise)].alpha:.2f}): caught / false alarm "
                          "(without the overlap minimum)" for noise in NOISES)
        print(f"\n{task} ({args.seeds} seeds per cell)\n| items per task | {head} |")
        print("|---|" + "---|" * len(NOISES))
        for n in SIZES:
            row = " | ".join(f"{c.detected:.0%} / {c.false_alarm:.0%} ({c.false_alarm_stats:.0%})"
                             for c in (cells[(n, noise)] for noise in NOISES))
            print(f"| {n} | {row} |")
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
