"""The winner's-curse correction against simulations with known truth."""
import numpy as np
import pytest

from evalplat.analysis.winners_curse import best_contrasts, corrected_best


def simulate(n_levels, truth, se=0.1, runs=200, seed=1):
    """Errors (naive, bootstrap-corrected, shrunken) of the chosen combination against its true value."""
    rng = np.random.default_rng(seed)
    covariance = np.eye(len(truth)) * se ** 2
    errors = []
    for run in range(runs):
        estimate = rng.multivariate_normal(truth, covariance)
        best = corrected_best(estimate, covariance, n_levels, draws=1000, seed=run)
        contrast, _ = best_contrasts(estimate, n_levels)
        true_value = float(contrast[0] @ truth)
        errors.append((best.naive - true_value, best.corrected - true_value, best.shrunken - true_value))
    return np.mean(errors, axis=0)


def test_the_best_combination_takes_each_factors_best_level():
    beta = np.array([0.3, -0.2, 0.1, 0.4])  # a two-level factor, then a three-level one, then two-level
    best = corrected_best(beta, np.eye(4) * 0.01, [2, 3, 2])
    assert best.levels == (1, 2, 1)
    assert best.naive == pytest.approx(0.3 + 0.1 + 0.4)
    assert best.std_error == pytest.approx(np.sqrt(0.03))


def test_with_no_real_effects_the_correction_removes_most_of_the_optimism():
    naive, corrected, shrunken = simulate([2] * 7, np.zeros(7))
    assert naive > 0.2  # picking the maximum of noise looks like an effect
    assert abs(corrected) < 0.4 * naive and abs(shrunken) < 0.4 * naive


def test_with_mixed_small_effects_the_correction_is_nearly_unbiased():
    naive, corrected, _ = simulate([2] * 7, np.array([0.2, -0.1, 0.05, 0.0, 0.15, -0.2, 0.1]))
    assert naive > 0.1 and abs(corrected) < 0.04


def test_with_large_clear_effects_it_does_not_over_correct():
    naive, corrected, _ = simulate([2] * 7, np.array([0.5, -0.5, 0.4, -0.3, 0.6, 0.2, -0.4]))
    assert abs(naive) < 0.03 and abs(corrected) < 0.04


def test_the_report_quotes_the_corrected_best_beside_the_direct_sum():
    """With no real effects the best combination's direct sum is pure luck: the result carries the
    bootstrap-corrected estimate, smaller by the selection bias, and the report's sentence and its
    best-combination section quote it."""
    from evalplat.analysis.pipeline import run_analysis
    from evalplat.analysis.report import pct, report_context, summary_sentences

    from .helpers import simulated_study

    table, judgments = simulated_study([0.0, 0.0, 0.0, 0.0], 40, 2000, 40, seed=3)
    result = run_analysis(table, judgments, detail=False)
    best = result.best_combination
    assert best.selection_bias > 0 and best.corrected_log_odds == pytest.approx(best.log_odds - best.selection_bias)
    sentence = next(s for s in summary_sentences(result) if s.startswith("Best predicted combination"))
    assert f"winner's curse), {pct(best.corrected_win_rate)}" in sentence
    context = report_context(result)["best"]
    assert context["corrected"] in sentence and context["bias"] and context["shrunken"]
