"""Pair scheduler speed and efficiency, and the efficiency of what the rating queue hands out.

Speed: rebuilding the scheduler from a history (once per queue refill in the rating
app) and one choice; for 32 variants × 50 queries with 5,000 judgments behind it.
Efficiency goal: at least 0.9 of the mirror-pair bound for every main effect in the
two-level example designs, and the same from the queue: a simulated crowd
(benchmarks/crowd.py: 30 raters at a time, 3% leaving mid-item, 2% problem reports)
judging 2000 items of honesty-tone through the rating app's own code, on a scratch
SQLite database.

    python benchmarks/bench_schedule.py [--no-queue]
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


def queue_efficiency(n_judgments=2000):
    """The simulated crowd through the real queue, on a scratch SQLite database."""
    import os
    import tempfile

    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench-queue.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalplat.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from benchmarks.crowd import run_crowd
    from evalplat.demo.answers import write_demo_answers
    from evalplat.experiments.importing import import_design_file
    from evalplat.generation.importing import import_answers

    call_command("migrate", verbosity=0)
    experiment = import_design_file(EXAMPLES / "honesty-tone.toml")
    answers = Path(tempfile.mkdtemp()) / "answers.jsonl"
    write_demo_answers(experiment, answers)
    import_answers(experiment, answers)
    experiment.refresh_from_db()
    assert experiment.open_rating()
    started = time.perf_counter()
    efficiency = run_crowd(experiment, n_judgments, seed=0)
    figures = ", ".join(f"{f.name} {efficiency[i]:.3f}" for i, f in enumerate(experiment.factors.all()))
    print(f"queue, honesty-tone, {n_judgments} judgments by a simulated crowd "
          f"({time.perf_counter() - started:.0f} s): {figures}")


if __name__ == "__main__":
    main()
    if "--no-queue" not in sys.argv:
        queue_efficiency()
