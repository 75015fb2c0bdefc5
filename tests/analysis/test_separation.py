"""find_separation's shortcuts: interior rows that span every direction settle it without the
programme, and the programme on distinct rows gives the answer that follows from the data."""
import numpy as np

from evalplat.analysis.model import collapse, scale_for
from evalplat.analysis.separation import PROBE_ROWS, find_separation

DUMMIES = np.array([[0.0], [1.0]])      # one two-level factor: variant 1 has the level


def rows_of(left, right, winner, repeat=1):
    left, right, winner = (np.repeat(np.asarray(column), repeat) for column in (left, right, winner))
    strength = np.zeros(len(winner), dtype=int)
    scale = scale_for(winner, strength)
    lo, hi = scale.intervals(winner, strength)
    return collapse(left, right, lo, hi, np.ones(len(winner)), DUMMIES, scale)


def test_ties_on_both_sides_keep_a_factor_that_never_loses_finite():
    # Variant 1 always wins when someone decides, but it ties from either side: a tie's
    # probability vanishes as its effect grows, so the effect has a finite MLE.
    found = find_separation(rows_of([1, 0, 1, 0], [0, 1, 0, 1], [1, -1, 0, 0], repeat=PROBE_ROWS))
    assert found.mle_exists and found.direction is None


def test_a_factor_that_never_loses_is_separated_however_often_it_is_judged():
    found = find_separation(rows_of([1, 0], [0, 1], [1, -1], repeat=PROBE_ROWS))
    assert found.separated and not found.unidentified
    assert found.direction[0] > 0      # the effect runs off to +infinity


def test_ties_from_one_side_only_leave_the_effect_separated():
    # The ties (x = [1, 1]) hold beta + gamma at 0; variant 1 still wins every decided pair from
    # the right (x = [-1, 1]), so beta -> +inf with gamma = -beta raises every likelihood.
    found = find_separation(rows_of([1, 0, 1], [0, 1, 0], [0, -1, 0], repeat=3))
    assert found.separated and found.direction[0] > 0


def test_wins_and_losses_of_the_same_pair_bound_the_effect_without_ties():
    found = find_separation(rows_of([1, 0, 1, 0], [0, 1, 0, 1], [1, 1, -1, -1], repeat=2))
    assert found.mle_exists
