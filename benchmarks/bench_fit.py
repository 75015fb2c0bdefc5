"""Fit speed and memory: 1,000,000 judgments of a 20-factor design, against statsmodels' Logit.

Goal (issue 5): under 5 s and under 2 GB on 2 cores for the whole estimate (model fit,
random-clicker mixture, model-based and two-way cluster-robust errors).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_fit.py [--judgments N]

Pairs are random pairs of the design's runs (the pair scheduler is not what is being timed),
and outcomes come from the simulated raters of evalplat.analysis.simulate on the 5-point scale
with 10% random clickers.  statsmodels gets the same pairs as left/right wins (ties dropped),
which is the simplest model it can fit; its time is the comparison.
"""
import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from designs.matrix import design_matrix  # noqa: E402
from evalplat.analysis.estimate import Settings, estimate_effects  # noqa: E402
from evalplat.analysis.simulate import SimulatedRaters, simulate_judgments  # noqa: E402
from evalplat.analysis.tables import VariantTable  # noqa: E402


def peak_memory_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judgments", type=int, default=1_000_000)
    parser.add_argument("--factors", type=int, default=20)
    parser.add_argument("--skip-statsmodels", action="store_true")
    args = parser.parse_args()

    matrix = design_matrix([2] * args.factors)
    table = VariantTable(ids=tuple(f"v{i + 1}" for i in range(matrix.n_runs)),
                         factors=tuple(f"f{i + 1}" for i in range(args.factors)),
                         levels=tuple(("base", "alt") for _ in range(args.factors)), runs=matrix.runs)
    dummies = table.dummies()
    rng = np.random.default_rng(0)
    n = args.judgments
    left = rng.integers(0, matrix.n_runs, n)
    right = (left + rng.integers(1, matrix.n_runs, n)) % matrix.n_runs
    query = rng.integers(0, 200, n)
    rater = np.arange(n) // 40
    truth = rng.normal(0, 0.3, dummies.shape[1])
    judgments, _ = simulate_judgments(dummies, truth, rater, query, left, right,
                                      SimulatedRaters(answer_sd=0.0), rng, n_queries=200)
    print(f"design {matrix.array_name}: {matrix.n_runs} runs, {args.factors} factors; {n:,} judgments, "
          f"{rater.max() + 1:,} raters, 200 queries; threads OMP={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"memory before fitting: {peak_memory_mb():.0f} MB peak")

    started = time.perf_counter()
    plain = estimate_effects(dummies, judgments, Settings(careless=False))
    plain_seconds = time.perf_counter() - started
    started = time.perf_counter()
    full = estimate_effects(dummies, judgments, Settings())
    full_seconds = time.perf_counter() - started
    error = np.max(np.abs(full.beta - truth))
    print(f"evalplat, ordinal model + two-way robust SEs:          {plain_seconds:6.2f} s")
    print(f"evalplat, + random-clicker mixture (default analysis): {full_seconds:6.2f} s "
          f"({full.careless.iterations} EM steps; max |estimate - truth| = {error:.3f})")
    print(f"peak memory (whole process): {peak_memory_mb():.0f} MB")

    if not args.skip_statsmodels:
        import statsmodels.api as sm

        decided = judgments.winner != 0
        x = np.column_stack([dummies[left] - dummies[right], np.ones(n)])[decided]
        y = (judgments.winner[decided] > 0).astype(float)
        started = time.perf_counter()
        sm.Logit(y, x).fit(disp=0)
        print(f"statsmodels Logit, binary outcomes only ({decided.sum():,} rows): "
              f"{time.perf_counter() - started:6.2f} s")
        print(f"peak memory after statsmodels: {peak_memory_mb():.0f} MB")


if __name__ == "__main__":
    main()
