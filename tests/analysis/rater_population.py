"""A heterogeneous simulated rater population: careful raters who are tie-prone, noisy or
position-biased next to real random clickers (issue 11, finding 5)."""
import numpy as np

from evalplat.analysis.tables import judgments_from_arrays

KINDS = ("plain", "tie-prone", "noisy", "position-biased", "clicker")


def rater_population(dummies, beta, pairs, kinds, rng, per_rater=40, n_queries=14):
    """Judgments on the 5-point scale by raters of the given `kinds` (one per rater).

    `pairs` draws (left, right) arrays of a given length.  A plain rater: thresholds (0.4, 1.6),
    position bias 0.2, logistic noise; tie-prone: thresholds (1.5, 2.5); noisy: noise x 2.5;
    position-biased: bias 1.2; a clicker presses the five buttons at random, with a lean to the
    left (its own habit, as real clickers have)."""
    left, right, winner, strength, rater = [], [], [], [], []
    utility = dummies @ np.asarray(beta, dtype=float)
    for r, kind in enumerate(kinds):
        l, rt = pairs(per_rater)
        t1, t2 = (1.5, 2.5) if kind == "tie-prone" else (0.4, 1.6)
        noise = 2.5 if kind == "noisy" else 1.0
        bias = 1.2 if kind == "position-biased" else 0.2
        latent = utility[l] - utility[rt] + bias + noise * rng.logistic(size=per_rater)
        category = np.searchsorted([-t2, -t1, t1, t2], latent)
        if kind == "clicker":
            category = rng.choice(5, per_rater, p=[0.1, 0.15, 0.2, 0.3, 0.25])
        left.append(l)
        right.append(rt)
        winner.append(np.array([-1, -1, 0, 1, 1])[category])
        strength.append(np.array([2, 1, 0, 1, 2])[category])
        rater.append(np.full(per_rater, r))
    left, right = np.concatenate(left), np.concatenate(right)
    n = len(left)
    return judgments_from_arrays(left, right, np.concatenate(winner), np.concatenate(strength),
                                 rng.integers(0, n_queries, n), np.concatenate(rater),
                                 raters=[f"r{i + 1}" for i in range(len(kinds))])
