"""The whole analysis: notes on what cannot be estimated, exclusions, robustness counts."""
import numpy as np
import pytest
from dataclasses import replace

from evalplat.analysis.estimate import Settings, estimate_effects, prepare
from evalplat.analysis.pipeline import run_analysis
from evalplat.analysis.robustness import fewest_to_flip
from evalplat.analysis.simulate import SimulatedRaters, simulate_judgments
from evalplat.analysis.tables import judgments_from_arrays

from .helpers import random_pairs, two_level_table


def simulated(truth=(0.6, -0.4, 0.2, 0.0), n=800, seed=0, raters=SimulatedRaters()):
    table = two_level_table()
    rng = np.random.default_rng(seed)
    rater, query, left, right = random_pairs(8, 16, n, 40, rng)
    judgments, careless = simulate_judgments(table.dummies(), np.array(truth), rater, query, left, right, raters, rng)
    return table, judgments, careless


def test_a_factor_that_never_varies_within_judged_pairs_is_named_and_stays_finite():
    table, judgments, _ = simulated()
    same_format = table.runs[judgments.left, 3] == table.runs[judgments.right, 3]
    result = run_analysis(table, judgments.subset(same_format), detail=False)
    assert any("'format' never differs" in note for note in result.notes)
    row = next(r for r in result.effects if r.factor == "format" and not r.baseline)
    assert np.isfinite(row.estimate) and abs(row.estimate) < 1e-6


def test_separation_is_explained_and_the_estimate_stays_finite():
    table, judgments, _ = simulated(truth=(0.0, -0.4, 0.2, 0.0), raters=SimulatedRaters(careless_share=0.0))
    alt = table.dummies()[:, 0]
    differs = alt[judgments.left] != alt[judgments.right]
    winner = np.where(differs, np.where(alt[judgments.left] > alt[judgments.right], 1, -1), judgments.winner)
    result = run_analysis(table, replace(judgments, winner=winner.astype(np.int8),
                                         strength=np.where(differs, 2, judgments.strength).astype(np.int8)),
                          detail=False)
    assert any("part of a separation" in note and "held finite by the penalty" in note for note in result.notes)
    row = next(r for r in result.effects if r.level == "uncertainty-alt")
    assert 2 < row.estimate < 20 and np.isfinite(row.ci_high)


def test_raters_failing_gold_items_are_excluded_and_listed():
    table, judgments, _ = simulated()
    gold = np.zeros(len(judgments), dtype=np.int8)
    gold[:12] = 1                                  # rater 0's first 12 items are gold, left is right
    winner = judgments.winner.copy()
    winner[:12] = -1                               # ... and rater 0 gets them all wrong
    result = run_analysis(table, replace(judgments, gold=gold, winner=winner), detail=False)
    assert [row.as_json() for row in result.excluded_raters] == [{"rater": "r1", "gold_items": 12, "gold_accuracy": 0.0,
                                                                   "reason": "gold"}]
    assert result.n_judgments == len(judgments) - 40
    assert "gold accuracy below 60%" in result.exclusion_rule


def test_the_count_that_flips_a_sign_is_confirmed_by_refitting():
    table, judgments, _ = simulated(n=600, seed=3)
    settings = Settings(careless=False)
    used = prepare(judgments, settings)
    estimate = estimate_effects(table.dummies(), used, settings)
    count, verified = fewest_to_flip(table.dummies(), used, estimate, 0, settings)
    assert verified and 0 < count < len(used) / 2
    influence = -(estimate.influence @ estimate.scores.T)[0]
    keep = np.ones(len(used), dtype=bool)
    keep[np.argsort(influence)[:count]] = False
    assert estimate_effects(table.dummies(), used.subset(keep), settings).beta[0] < 0


def test_both_bad_judgments_count_as_ties_or_are_dropped():
    table, judgments, _ = simulated(n=400)
    both_bad = np.arange(len(judgments)) % 10 == 0
    marked = replace(judgments, both_bad=both_bad)
    assert np.all(prepare(marked, Settings()).winner[both_bad] == 0)
    assert len(prepare(marked, Settings(both_bad="drop"))) == len(judgments) - both_bad.sum()


def test_estimates_without_raters_use_query_clusters_only():
    table, judgments, _ = simulated(n=600)
    anonymous = judgments_from_arrays(judgments.left, judgments.right, judgments.winner, judgments.strength,
                                      judgments.query)
    result = run_analysis(table, anonymous, detail=False)
    assert result.careless.as_json() == {"fitted": False, "reason": "not fitted: rater ids are missing"}
    assert result.interval_method == "robust" and result.n_raters == 0


def test_the_robustness_check_refits_once_per_significant_effect():
    from unittest import mock

    from evalplat.analysis import robustness

    table, judgments, _ = simulated(truth=(0.9, -0.7, 0.6, 0.0), n=1600, seed=4)
    result = run_analysis(table, judgments, detail=False)
    significant = [row for row in result.tested_effects() if row.significant]
    assert len(significant) >= 3
    settings = Settings()
    used = prepare(judgments, settings)
    estimate = estimate_effects(table.dummies(), used, settings)
    with mock.patch.object(robustness, "fit_pairs", side_effect=robustness.fit_pairs) as refits:
        rows = robustness.robustness_table(table.dummies(), used, estimate, result.effects, settings)
    assert refits.call_count == len(rows) == len(significant)
    assert all(0 < row.judgments_to_flip < len(used) for row in rows)


def test_blas_threads_are_set_not_inherited(settings):
    from threadpoolctl import threadpool_info

    from evalplat.analysis.threads import analysis_threads

    settings.ANALYSIS_BLAS_THREADS = 1
    with analysis_threads():
        assert {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"} == {1}


def test_raters_flagged_too_fast_are_set_aside_and_the_flag_survives_judgments_csv(tmp_path):
    """The rating pages flag a rater too fast to have read (Rater.too_fast); the judgments carry the
    flag, the analysis excludes that rater with the reason, and judgments.csv keeps it."""
    from evalplat.analysis.tables import read_judgments, write_judgments

    table, judgments, _ = simulated()
    flagged = replace(judgments, too_fast=judgments.rater == 2)
    result = run_analysis(table, flagged, detail=False)
    assert [(row.rater, row.reason) for row in result.excluded_raters] == [(judgments.raters[2], "fast")]
    assert result.n_judgments == len(judgments) - int(np.sum(judgments.rater == 2))
    assert "flagged too fast" in result.exclusion_rule
    write_judgments(tmp_path / "j.csv", flagged, table)
    again = read_judgments(tmp_path / "j.csv", table)
    assert np.array_equal(again.too_fast, flagged.too_fast)
    assert ([e.estimate for e in run_analysis(table, again, detail=False).effects]
            == pytest.approx([e.estimate for e in result.effects], abs=1e-6))
    assert not run_analysis(table, judgments, detail=False).excluded_raters
