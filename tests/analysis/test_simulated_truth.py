"""Simulations with a known truth: intervals cover it, standard errors match the spread of
estimates, and random clickers no longer flatten the effects.  Pairs come from the real
scheduler (designs.schedule.plan_pairs), as in `manage.py simulate`."""
import numpy as np
import pytest

from designs.schedule import plan_pairs
from evalplat.analysis.estimate import Settings, estimate_effects
from evalplat.analysis.simulate import SimulatedRaters, simulate_judgments

from .helpers import two_level_table

TRUTH = np.array([0.4, -0.3, 0.2, 0.0])


def scheduled(n_queries, n_judgments, overlap=0.1, seed=1):
    table = two_level_table()
    items = plan_pairs(table.runs, table.n_levels, n_queries, n_judgments, seed=seed, per_rater=40, overlap=overlap)
    return table.dummies(), np.array([(i.rater, i.query, i.left, i.right) for i in items]).T


def replicate(raters, settings, n_datasets, n_queries=30, n_judgments=1200):
    dummies, (rater, query, left, right) = scheduled(n_queries, n_judgments)
    results = []
    for seed in range(n_datasets):
        rng = np.random.default_rng(seed)
        judgments, _ = simulate_judgments(dummies, TRUTH, rater, query, left, right, raters, rng, n_queries)
        results.append(estimate_effects(dummies, judgments, settings))
    return results


@pytest.mark.slow
def test_model_standard_errors_match_the_spread_of_estimates_when_the_model_is_true():
    exact = SimulatedRaters(careless_share=0.0, answer_sd=0.0)
    results = replicate(exact, Settings(careless=False, interval="model"), 300)
    spread = np.std([r.beta for r in results], axis=0, ddof=1)
    mean_se = np.mean([r.std_errors("model")[:-1] for r in results], axis=0)
    ratio = spread / mean_se
    assert np.all((0.85 < ratio) & (ratio < 1.15)), ratio
    assert 0.93 < ratio.mean() < 1.07, ratio


@pytest.mark.slow
def test_robust_95_percent_intervals_cover_the_truth_with_noise_clickers_ties_and_position_bias():
    messy = SimulatedRaters(scale="5-point", position_bias=0.25, careless_share=0.1, answer_sd=0.3)
    results = replicate(messy, Settings(), 240)
    assert all(r.interval_method == "robust" for r in results)
    covered = []
    for r in results:
        low, high = r.interval(np.arange(4))
        covered.append((low <= TRUTH) & (TRUTH <= high))
    coverage = np.mean(covered)
    assert 0.93 <= coverage <= 0.97, coverage


@pytest.mark.slow
def test_model_based_errors_understate_the_spread_with_few_queries_and_answer_noise():
    """The simulation behind leading with robust errors: 8 queries, noisy answers."""
    noisy = SimulatedRaters(careless_share=0.0, answer_sd=0.6)
    results = replicate(noisy, Settings(careless=False), 150, n_queries=8)
    spread = np.std([r.beta for r in results], axis=0, ddof=1)
    model_se = np.mean([r.std_errors("model")[:-1] for r in results], axis=0)
    robust_se = np.mean([r.std_errors("robust")[:-1] for r in results], axis=0)
    assert np.mean(spread / model_se) > 1.3
    assert 0.8 < np.mean(spread / robust_se) < 1.2


@pytest.mark.slow
def test_ten_percent_random_clickers_no_longer_shrink_the_effects():
    clickers = SimulatedRaters(careless_share=0.1, answer_sd=0.0)
    signal = TRUTH != 0

    def shrinkage(settings):
        estimates = np.array([r.beta for r in replicate(clickers, settings, 60, n_judgments=2000)])
        return np.mean(estimates[:, signal] @ TRUTH[signal]) / (TRUTH[signal] @ TRUTH[signal])

    assert shrinkage(Settings(careless=False)) < 0.92
    assert 0.96 < shrinkage(Settings(careless=True)) < 1.04
