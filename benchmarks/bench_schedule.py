"""Pair scheduler speed and efficiency.

Speed goal: the rating app replays an experiment's history into a fresh
scheduler and picks one pair on every "next item" request; for 32 variants ×
50 queries with 5,000 judgments behind it that must take a few milliseconds.
Efficiency goal: at least 0.9 of the mirror-pair bound for every main effect
in the two-level example designs.

    python benchmarks/bench_schedule.py
"""
import itertools
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from designs.matrix import design_matrix  # noqa: E402
from designs.schedule import PairScheduler, plan_pairs, schedule_efficiency  # noqa: E402
from designs.spec import load_design  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "designs" / "examples"


def time_decisions(n_history=5000, repeats=50):
    runs = np.array(list(itertools.product([0, 1], repeat=5)))  # 32 variants
    history = plan_pairs(runs, [2] * 5, 50, n_history, seed=0)
    started = time.perf_counter()
    for rater in range(repeats):
        scheduler = PairScheduler(runs, [2] * 5, 50, seed=rater, query_cap=1)
        scheduler.record_many(history)
        scheduler.choose(10_000 + rater)
    replay_and_choose = (time.perf_counter() - started) / repeats
    started = time.perf_counter()
    for rater in range(repeats):
        scheduler.choose(20_000 + rater)
    choose = (time.perf_counter() - started) / repeats
    return replay_and_choose, choose


def main():
    replay_and_choose, choose = time_decisions()
    print(f"32 variants x 50 queries, 5000 judgments of history: replay + choose {replay_and_choose * 1000:.1f} ms, "
          f"choose alone {choose * 1000:.2f} ms")
    for path in sorted(EXAMPLES.glob("*.toml")):
        design = load_design(path)
        matrix = design_matrix(design.levels_per_factor, array=design.array, foldover=design.foldover)
        items = plan_pairs(matrix.runs, design.levels_per_factor, len(design.queries), 2000, seed=0,
                           per_rater=design.rating.per_rater, overlap=design.rating.overlap)
        efficiency = schedule_efficiency(matrix.runs, design.levels_per_factor, items)
        figures = ", ".join(f"{f.name} {efficiency[i]:.3f}" for i, f in enumerate(design.factors))
        print(f"{path.name}: {matrix.array_name}{' folded' if matrix.foldover else ''}, "
              f"{len(matrix.runs)} variants, 2000 judgments: {figures}")


if __name__ == "__main__":
    main()
