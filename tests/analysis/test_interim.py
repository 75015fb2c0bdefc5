"""The interim look and its stopping rule: statements, and coverage under repeated looks."""
import numpy as np
import pytest

from evalplat.analysis.interim import MIN_DEGREES_OF_FREEDOM, interim_look
from evalplat.analysis.pipeline import run_analysis

from .helpers import simulated_study

TRUTH = [0.5, -0.3, 0.0, 0.2]


def fit(n, seed=1, n_queries=60):
    table, judgments = simulated_study(TRUTH, n_queries, n, 40, seed)
    return run_analysis(table, judgments, detail=False)


def test_not_yet_says_how_many_more_and_which_effect_is_widest():
    look = interim_look(fit(600), 0.2)
    assert not look.reached and look.worst_halfwidth > 0.2
    assert look.more_judgments_expected == pytest.approx(600 * (look.worst_halfwidth / 0.2) ** 2 - 600, abs=1)
    assert look.worst_effect in look.statement and f"±{look.worst_halfwidth:.2f}" in look.statement
    assert f"about {look.more_judgments_expected:,} more judgments" in look.statement


def test_reached_when_every_interval_is_within_the_target():
    result = fit(4000)
    widest = max((e.ci_high - e.ci_low) / 2 for e in result.tested_effects())
    look = interim_look(result, widest + 0.01)
    assert look.reached and look.more_judgments_expected is None
    assert "Rating can stop" in look.statement
    assert not interim_look(result, widest - 0.01).reached


def test_too_few_raters_never_stops_however_narrow():
    result = fit(40 * MIN_DEGREES_OF_FREEDOM)  # 40 judgments per rater: MIN_DEGREES_OF_FREEDOM raters
    look = interim_look(result, 100.0)
    assert not look.reached and look.more_judgments_expected is None
    assert "Too early" in look.statement and f"{MIN_DEGREES_OF_FREEDOM} raters and 60 queries" in look.statement


def test_one_rater_is_one_rater():
    look = interim_look(fit(40), 0.2)
    assert "1 rater and" in look.statement and "1 raters" not in look.statement


def test_target_must_be_positive():
    with pytest.raises(ValueError, match="target_halfwidth"):
        interim_look(fit(600), 0)


@pytest.mark.slow
def test_intervals_keep_their_coverage_when_rating_stops_at_the_first_look_that_reaches_precision():
    """Looks after every 5 raters (200 judgments); stop at the first that reaches ±0.3.

    Stopping on precision leaves the intervals' coverage near 95% (a rule that stopped on
    significance would not); the lower bound 0.90 is about 2.3 binomial SDs below 0.95 at 120 runs.
    """
    replicates, covered, stopped_at, predicted = 120, np.zeros(len(TRUTH)), [], []
    for seed in range(replicates):
        table, judgments = simulated_study(TRUTH, 60, 4000, 40, seed)
        for n in range(400, 4001, 200):
            result = run_analysis(table, judgments.subset(np.arange(n)), detail=False)
            look = interim_look(result, 0.3)
            if look.more_judgments_expected is not None and not predicted:
                predicted.append(n + look.more_judgments_expected)
            if look.reached or n == 4000:
                break
        stopped_at.append(n)
        for k, effect in enumerate(result.tested_effects()):
            covered[k] += effect.ci_low <= TRUTH[k] <= effect.ci_high
        if len(predicted) < len(stopped_at):
            predicted.append(n)
    coverage = covered / replicates
    assert np.all(coverage >= 0.90), coverage
    assert np.mean(np.array(stopped_at) < 4000) > 0.9  # the rule does stop
    # The first prediction lands near where the rule stopped (median ratio within 25%).
    assert 0.75 < np.median(np.array(predicted) / np.array(stopped_at)) < 1.25
