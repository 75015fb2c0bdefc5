"""Statistical efficiency: judgments needed for a standard error of 0.1 on every main effect of
7 two-level factors, three ways.

    .venv/bin/python benchmarks/bench_efficiency.py [--replicates 100]

(a) evalplat: the design (L8 folded over to 16 runs), the real pair scheduler and the
    structured model;
(b) one factor at a time: seven A/B tests, each of the baseline against the variant that
    changes one factor;
(c) all pairs of the same 16 variants judged uniformly, a Bradley-Terry score per variant,
    then least squares of the scores on the factors (two-stage, errors propagated).

Raters follow the binary Bradley-Terry model with no effects (where one judgment carries the
most information), no clickers and no answer noise, so the three differ only in how the
judgments are spent.  Each is simulated `--replicates` times at a pilot size and the needed
count is pilot * (largest SD of an effect estimate / 0.1)^2; the same from the model-based
standard errors is shown beside it.  The information bound: a judgment carries at most
p(1-p) = 1/4 about any one effect (the two answers differ in that factor), so SE 0.1 needs
at least 1 / (0.25 * 0.1^2) = 400 judgments.  Goal (issue 5): (a) at least 6x fewer than (b)
and within 1.1x of the bound.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from designs.matrix import design_matrix  # noqa: E402
from designs.schedule import plan_pairs  # noqa: E402
from evalplat.analysis.estimate import Settings, estimate_effects  # noqa: E402
from evalplat.analysis.model import fit_pairs, pair_data  # noqa: E402
from evalplat.analysis.simulate import SimulatedRaters, simulate_judgments  # noqa: E402

TARGET_SE = 0.1
FACTORS = 7
QUERIES = 20
BOUND = 1 / (0.25 * TARGET_SE ** 2)
EXACT = SimulatedRaters(scale="2-way", position_bias=0.0, careless_share=0.0, answer_sd=0.0)
MODEL = Settings(careless=False, interval="model", prior_sd=None)


def dummies_of(runs):
    return runs.astype(float)


def needed(estimates, standard_errors, pilot):
    spread = np.std(estimates, axis=0, ddof=1)
    model_se = np.mean(standard_errors, axis=0)
    return pilot * np.max(spread / TARGET_SE) ** 2, pilot * np.max(model_se / TARGET_SE) ** 2


def evalplat_design(replicates, pilot, rng):
    matrix = design_matrix([2] * FACTORS, foldover=True)
    dummies = dummies_of(matrix.runs)
    items = plan_pairs(matrix.runs, [2] * FACTORS, QUERIES, pilot, seed=0, per_rater=40)
    rater, query, left, right = np.array([(i.rater, i.query, i.left, i.right) for i in items]).T
    estimates, errors = [], []
    for _ in range(replicates):
        judgments, _ = simulate_judgments(dummies, np.zeros(FACTORS), rater, query, left, right, EXACT, rng, QUERIES)
        estimate = estimate_effects(dummies, judgments, MODEL)
        estimates.append(estimate.beta)
        errors.append(estimate.std_errors("model")[:-1])
    name = matrix.array_name + (" folded over" if matrix.foldover else "")
    return name, needed(estimates, errors, len(items))


def one_factor_at_a_time(replicates, pilot_per_test, rng):
    """Each test: baseline (row 0) against the run that changes factor f alone, sides random."""
    runs = np.vstack([np.zeros(FACTORS, dtype=int), np.eye(FACTORS, dtype=int)])
    dummies = dummies_of(runs)
    totals = []
    for f in range(FACTORS):
        estimates, errors = [], []
        swap = rng.random(pilot_per_test) < 0.5
        left, right = np.where(swap, f + 1, 0), np.where(swap, 0, f + 1)
        rater = np.arange(pilot_per_test) // 40
        query = np.arange(pilot_per_test) % QUERIES
        for _ in range(replicates):
            judgments, _ = simulate_judgments(dummies, np.zeros(FACTORS), rater, query, left, right, EXACT, rng,
                                              QUERIES)
            # Only factor f varies in this test, so it is a one-effect model.
            fit = fit_pairs(pair_data(dummies[:, [f]], judgments.left, judgments.right, judgments.winner,
                                      judgments.strength), prior_sd=None)
            estimates.append(fit.beta)
            errors.append(fit.std_errors()[:1])
        totals.append(needed(estimates, errors, pilot_per_test))
    return tuple(np.sum(totals, axis=0))


def all_pairs_then_regression(replicates, pilot, rng):
    matrix = design_matrix([2] * FACTORS, foldover=True)
    n_variants = matrix.n_runs
    one_hot = np.eye(n_variants)[:, 1:]              # variant scores, run 1 as the reference
    design = np.column_stack([np.ones(n_variants), dummies_of(matrix.runs)])
    projection = np.linalg.pinv(design)             # least squares of scores on the factors
    left = rng.integers(0, n_variants, pilot)
    right = (left + rng.integers(1, n_variants, pilot)) % n_variants
    estimates, errors = [], []
    for _ in range(replicates):
        eta = rng.logistic(size=pilot)
        winner = np.where(eta > 0, 1, -1)
        fit = fit_pairs(pair_data(one_hot, left, right, winner, np.zeros(pilot)), prior_sd=None)
        scores = np.concatenate([[0.0], fit.beta])
        covariance = np.zeros((n_variants, n_variants))
        covariance[1:, 1:] = fit.covariance()[:n_variants - 1, :n_variants - 1]
        estimates.append((projection @ scores)[1:])
        errors.append(np.sqrt(np.diag(projection @ covariance @ projection.T))[1:])
    return needed(estimates, errors, pilot)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=100)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    array_name, (a_sim, a_model) = evalplat_design(args.replicates, 2000, rng)
    b_sim, b_model = one_factor_at_a_time(args.replicates, 1000, rng)
    c_sim, c_model = all_pairs_then_regression(args.replicates, 2000, rng)
    print(f"judgments for SE {TARGET_SE} on every main effect of {FACTORS} two-level factors "
          f"({args.replicates} simulated replicates each; from the spread of estimates / from model SEs)")
    print(f"  information bound:                              {BOUND:7.0f}")
    print(f"  (a) evalplat ({array_name}, scheduler, model): {a_sim:7.0f} / {a_model:7.0f}"
          f"   = {a_model / BOUND:.2f}x the bound")
    print(f"  (b) one factor at a time (7 A/B tests):         {b_sim:7.0f} / {b_model:7.0f}"
          f"   = {b_model / a_model:.1f}x (a)")
    print(f"  (c) all pairs, BT per variant, then regression: {c_sim:7.0f} / {c_model:7.0f}"
          f"   = {c_model / a_model:.1f}x (a)")


if __name__ == "__main__":
    main()
