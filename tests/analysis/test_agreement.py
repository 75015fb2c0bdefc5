"""Krippendorff's alpha against the published example, and the per-rater summaries."""
import numpy as np

from evalplat.analysis.agreement import consensus_agreement, gold_summary, krippendorff_alpha_ordinal
from evalplat.analysis.model import Scale
from evalplat.analysis.tables import judgments_from_arrays

from .helpers import golden


def test_ordinal_alpha_matches_krippendorff_2011():
    case = golden("krippendorff_2011.json")
    units, values = [], []
    for observer in case["ratings"]:
        for unit, value in enumerate(observer):
            if value is not None:
                units.append(unit)
                values.append(value - 1)
    alpha = krippendorff_alpha_ordinal(np.array(units), np.array(values), 5)
    assert round(alpha, case["decimals"]) == case["alpha_ordinal"]


def test_alpha_is_one_for_identical_ratings_and_none_without_repeats():
    units = np.array([0, 0, 1, 1, 2, 2])
    assert krippendorff_alpha_ordinal(units, np.array([0, 0, 2, 2, 1, 1]), 3) == 1.0
    assert krippendorff_alpha_ordinal(np.array([0, 1, 2]), np.array([0, 1, 2]), 3) is None


def test_a_rating_of_the_swapped_pair_counts_as_agreement():
    # Variant 0 is preferred by raters a and c (shown left) and b (shown right); d prefers variant 1.
    judgments = judgments_from_arrays([0, 1, 0, 0], [1, 0, 1, 1], [1, -1, 1, -1], rater=[0, 1, 2, 3],
                                      raters=["a", "b", "c", "d"])
    agree = consensus_agreement(judgments, Scale(ties=False, strength=False))
    assert agree.tolist() == [1.0, 1.0, 1.0, 0.0]


def test_gold_accuracy_is_counted_per_rater():
    judgments = judgments_from_arrays([0, 0, 1], [1, 1, 0], [1, -1, 1], rater=[0, 1, 1], raters=["a", "b"],
                                      gold=[1, 1, 0])
    summary = gold_summary(judgments)
    assert summary["items"] == 2 and summary["accuracy"] == 0.5
    assert summary["by_rater"] == {"a": {"items": 1, "correct": 1}, "b": {"items": 1, "correct": 0}}


def test_the_grouped_rater_table_matches_a_pass_per_rater():
    from evalplat.analysis.agreement import rater_table
    from evalplat.analysis.estimate import Settings, estimate_effects

    from .helpers import simulated_study

    table, judgments = simulated_study([0.5, -0.3, 0.2, 0.0], n_queries=6, n_judgments=900, per_rater=30, seed=5)
    estimate = estimate_effects(table.dummies(), judgments, Settings())
    rows = rater_table(judgments, table.dummies(), estimate, estimate.careless)
    agree = consensus_agreement(judgments, estimate.fit.scale)
    predicted = np.sign((table.dummies()[judgments.left] - table.dummies()[judgments.right]) @ estimate.beta)
    assert len(rows) == 30
    for r, row in enumerate(rows):
        mine = judgments.rater == r
        winner = judgments.winner[mine]
        decided = winner != 0
        matched = (np.sign(winner) == predicted[mine])[decided & (predicted[mine] != 0)]
        assert row.rater == judgments.raters[r] and row.judgments == mine.sum()
        assert row.tie_rate == np.mean(winner == 0)
        assert row.left_share == np.mean(winner[decided] > 0)
        assert np.isclose(row.consensus_agreement, np.nanmean(agree[mine]))
        assert row.consensus_items == np.isfinite(agree[mine]).sum()
        assert np.isclose(row.model_agreement, np.mean(matched))
        assert row.careless_probability == estimate.careless.rater_careless[r]
