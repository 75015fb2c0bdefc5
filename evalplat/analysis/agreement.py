"""How far raters agree: Krippendorff's alpha, per-rater habits, gold accuracy.

An *item* is a query with an unordered pair of variants; a judgment's value is its category
turned so that the lower-numbered variant is "left" (so a rater who saw the pair the other way
round is comparable).  Alpha uses the ordinal metric (Krippendorff 2011, "Computing
Krippendorff's alpha-reliability", section on ordinal metric) over items rated at least twice.

When two answers are close, even raters who follow the model exactly disagree often, so alpha
is low by construction; `perfect_rater_alpha` gives the alpha such raters reach on the same
items with the same number of ratings, which is the ceiling to compare against.
"""
import numpy as np

from .model import predict_probabilities

PERFECT_RATER_DRAWS = 20


def oriented_values(judgments, scale):
    """Item key per judgment (query, low variant, high variant) and the oriented category.

    Judgments whose category is an interval (no strength on a strength scale) get value -1.
    """
    lo, hi = scale.intervals(judgments.winner, judgments.strength)
    value = np.where(lo == hi, lo, -1)
    flipped = judgments.left > judgments.right
    value = np.where(flipped & (value >= 0), scale.n_categories - 1 - value, value)
    low = np.minimum(judgments.left, judgments.right)
    high = np.maximum(judgments.left, judgments.right)
    return np.stack([judgments.query, low, high], axis=1), value


def krippendorff_alpha_ordinal(unit, value, n_categories):
    """Alpha for values 0..K-1 grouped by integer unit codes; None when nothing is paired."""
    keep = value >= 0
    unit, value = unit[keep], value[keep]
    if len(unit) == 0:
        return None
    _, unit = np.unique(unit, return_inverse=True)
    counts = np.zeros((unit.max() + 1, n_categories))
    np.add.at(counts, (unit, value), 1)
    m = counts.sum(axis=1)
    paired = m >= 2
    if not np.any(paired):
        return None
    counts, m = counts[paired], m[paired]
    # Coincidences: every ordered pair of values within a unit, weighted 1 / (m_u - 1).
    coincidence = (counts.T / (m - 1)) @ counts - np.diag((counts / (m - 1)[:, None]).sum(axis=0))
    totals = coincidence.sum(axis=1)
    n = totals.sum()
    cumulative = np.concatenate([[0.0], np.cumsum(totals)])
    c, k = np.meshgrid(np.arange(n_categories), np.arange(n_categories), indexing="ij")
    low, high = np.minimum(c, k), np.maximum(c, k)
    delta = (cumulative[high + 1] - cumulative[low] - (totals[c] + totals[k]) / 2) ** 2
    expected = (np.outer(totals, totals) * delta).sum()
    if expected == 0:
        return None
    return float(1 - (n - 1) * (coincidence * delta).sum() / expected)


def item_codes(keys):
    return np.unique(keys, axis=0, return_inverse=True)[1].reshape(-1)


def perfect_rater_alpha(fit, dummies, judgments, rng, draws=PERFECT_RATER_DRAWS):
    """Mean alpha of raters who follow the fitted model exactly, on the same items and sides."""
    keys, value = oriented_values(judgments, fit.scale)
    units = item_codes(keys)
    multiple = np.bincount(units)[units] >= 2
    if not np.any(multiple):
        return None
    sub = judgments.subset(multiple)
    probabilities = predict_probabilities(fit, dummies[sub.left] - dummies[sub.right])
    cumulative = np.cumsum(probabilities, axis=1)
    k = fit.scale.n_categories
    flipped = sub.left > sub.right
    alphas = []
    for _ in range(draws):
        category = (rng.random(len(sub))[:, None] > cumulative).sum(axis=1).clip(0, k - 1)
        category = np.where(flipped, k - 1 - category, category)
        alpha = krippendorff_alpha_ordinal(units[multiple], category, k)
        if alpha is not None:
            alphas.append(alpha)
    return float(np.mean(alphas)) if alphas else None


def consensus_agreement(judgments, scale):
    """Per judgment on a multiply rated item: does its direction match the leave-one-out majority
    of the other ratings' directions?  NaN where there is no other decided rating."""
    keys, value = oriented_values(judgments, scale)
    units = item_codes(keys)
    direction = np.sign(judgments.winner) * np.where(judgments.left > judgments.right, -1, 1)
    total = np.bincount(units, weights=direction)
    others = total[units] - direction
    decided = (direction != 0) & (others != 0)
    return np.where(decided, (np.sign(others) == direction).astype(float), np.nan)


def rater_table(judgments, dummies, estimate, careless):
    """One dict per rater: judgments, tie rate, left share, agreement, careless posterior."""
    if not judgments.has_raters:
        return []
    scale = estimate.fit.scale
    agree = consensus_agreement(judgments, scale)
    predicted = np.sign((dummies[judgments.left] - dummies[judgments.right]) @ estimate.beta)
    rows = []
    for r, name in enumerate(judgments.raters):
        mine = judgments.rater == r
        if not np.any(mine):
            continue
        winner = judgments.winner[mine]
        decided = winner != 0
        model_match = (np.sign(winner) == predicted[mine])[decided & (predicted[mine] != 0)]
        rows.append({
            "rater": name, "judgments": int(mine.sum()),
            "tie_rate": float(np.mean(winner == 0)),
            "left_share": float(np.mean(winner[decided] > 0)) if np.any(decided) else None,
            "consensus_agreement": float(np.nanmean(agree[mine])) if np.any(np.isfinite(agree[mine])) else None,
            "consensus_items": int(np.sum(np.isfinite(agree[mine]))),
            "model_agreement": float(np.mean(model_match)) if len(model_match) else None,
            "careless_probability": None if careless is None else float(careless.rater_careless[r]),
        })
    return rows


def gold_summary(judgments):
    """Accuracy on gold (attention) items, overall and per rater."""
    gold = judgments.gold != 0
    if not np.any(gold):
        return {"items": 0, "accuracy": None, "by_rater": {}}
    correct = judgments.winner[gold] == judgments.gold[gold]
    by_rater = {}
    for r, name in enumerate(judgments.raters):
        mine = judgments.rater[gold] == r
        if np.any(mine):
            by_rater[name] = {"items": int(mine.sum()), "correct": int(correct[mine].sum())}
    return {"items": int(gold.sum()), "accuracy": float(correct.mean()), "by_rater": by_rater}
