"""How many judgments hold up a conclusion: the fewest whose removal flips an effect's sign.

Removing judgment i moves the estimate by about -(J^-1 s_i) (the one-step influence, J the
information and s_i the judgment's score; Cook and Weisberg 1982), so the judgments that push
hardest towards the estimate's sign are removed first until the predicted estimate crosses
zero (Broderick, Giordano and Meager 2020 call this the approximate maximum influence
perturbation).  The count is then checked by refitting without those judgments and, when the
linear prediction was too optimistic, grown until a refit really flips the sign.
"""
import numpy as np

from .estimate import estimate_effects

MAX_REFITS = 8
GROWTH = 1.25


def fewest_to_flip(dummies, judgments, estimate, column, settings):
    """(count, verified) for one effect column; count None when no removal flips it."""
    influence = -(estimate.influence @ estimate.scores.T)[column]
    sign = np.sign(estimate.beta[column])
    order = np.argsort(sign * influence)                  # most sign-reducing first
    path = estimate.beta[column] + np.cumsum(influence[order])
    crossed = np.flatnonzero(np.sign(path) != sign)
    count = int(crossed[0]) + 1 if len(crossed) else len(order) // 2
    for _ in range(MAX_REFITS):
        keep = np.ones(len(judgments), dtype=bool)
        keep[order[:count]] = False
        refit = estimate_effects(dummies, judgments.subset(keep), settings)
        if np.sign(refit.beta[column]) != sign:
            return count, True
        count = int(np.ceil(count * GROWTH))
        if count >= len(judgments):
            break
    return count, False


def robustness_table(variants, dummies, judgments, estimate, effects, settings, alpha=0.05):
    """For each effect significant after Holm adjustment, the fewest judgments to flip its sign."""
    rows = []
    tested = [row for row in effects if not row["baseline"]]
    for column, row in enumerate(tested):
        if row["p_holm"] is None or row["p_holm"] >= alpha:
            continue
        count, verified = fewest_to_flip(dummies, judgments, estimate, column, settings)
        rows.append({"factor": row["factor"], "level": row["level"], "judgments_to_flip": count,
                     "share": count / len(judgments), "verified_by_refit": verified})
    return rows
