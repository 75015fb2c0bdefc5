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
from .result import RaterRow

PERFECT_RATER_DRAWS = 20
MIN_PERFECT_RATER_DRAWS = 1
PERFECT_RATER_SAMPLE = 1_000_000   # simulated judgments over all draws, once data are large


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
    if unit.min() < 0 or unit.max() >= 2 * len(unit):
        unit = np.unique(unit, return_inverse=True)[1].reshape(-1)
    # Values per unit by counting (unit, value) codes: one linear pass, no per-unit loop.
    counts = np.bincount(unit * n_categories + value,
                         minlength=(int(unit.max()) + 1) * n_categories).reshape(-1, n_categories).astype(float)
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
    """Dense codes of (query, low variant, high variant) rows, in their lexicographic order."""
    keys = np.asarray(keys, dtype=np.int64)
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64)
    span = keys.max(axis=0) + 1
    # One integer per row (a mixed-radix number) sorts like the rows themselves.
    flat = (keys[:, 0] * span[1] + keys[:, 1]) * span[2] + keys[:, 2]
    return np.unique(flat, return_inverse=True)[1].reshape(-1)


def perfect_rater_alpha(fit, dummies, judgments, rng, draws=PERFECT_RATER_DRAWS, units=None):
    """Mean alpha of raters who follow the fitted model exactly, on the same items and sides.

    The mean over draws is what is reported; with many judgments each draw's alpha barely
    varies, so fewer draws are made (at least `draws` x judgments >= PERFECT_RATER_SAMPLE).
    """
    if units is None:
        units = item_codes(oriented_values(judgments, fit.scale)[0])
    multiple = np.bincount(units)[units] >= 2
    if not np.any(multiple):
        return None
    sub = judgments.subset(multiple)
    sub_units = np.unique(units[multiple], return_inverse=True)[1].reshape(-1)
    # Category probabilities depend only on the ordered pair of variants: compute them per pair.
    n_variants = len(dummies)
    pairs, pair_of = np.unique(sub.left * n_variants + sub.right, return_inverse=True)
    probabilities = predict_probabilities(fit, dummies[pairs // n_variants] - dummies[pairs % n_variants])
    cumulative = np.cumsum(probabilities, axis=1)[pair_of.reshape(-1)]
    k = fit.scale.n_categories
    flipped = sub.left > sub.right
    alphas = []
    for _ in range(min(draws, max(MIN_PERFECT_RATER_DRAWS, -(-PERFECT_RATER_SAMPLE // len(sub))))):
        category = (rng.random(len(sub))[:, None] > cumulative).sum(axis=1).clip(0, k - 1)
        category = np.where(flipped, k - 1 - category, category)
        alpha = krippendorff_alpha_ordinal(sub_units, category, k)
        if alpha is not None:
            alphas.append(alpha)
    return float(np.mean(alphas)) if alphas else None


def consensus_agreement(judgments, scale, units=None):
    """Per judgment on a multiply rated item: does its direction match the leave-one-out majority
    of the other ratings' directions?  NaN where there is no other decided rating.  `units` are
    the judgments' item codes when already computed."""
    if units is None:
        units = item_codes(oriented_values(judgments, scale)[0])
    direction = np.sign(judgments.winner) * np.where(judgments.left > judgments.right, -1, 1)
    total = np.bincount(units, weights=direction)
    others = total[units] - direction
    decided = (direction != 0) & (others != 0)
    return np.where(decided, (np.sign(others) == direction).astype(float), np.nan)


def rater_table(judgments, dummies, estimate, careless, units=None):
    """Per rater: judgments, tie rate, left share, agreement, careless posterior (`RaterRow`s).

    Every statistic is a per-rater sum, so each is one `np.bincount` over all judgments rather
    than a pass over the judgments per rater (25,000 raters x 1M judgments took minutes).
    """
    if not judgments.has_raters:
        return []
    known = judgments.rater >= 0
    rater = judgments.rater[known]
    winner = judgments.winner[known]
    n_raters = len(judgments.raters)

    def per_rater(mask):
        return np.bincount(rater, weights=mask.astype(float), minlength=n_raters)

    agree = consensus_agreement(judgments, estimate.fit.scale, units)[known]
    utility = dummies @ estimate.beta
    predicted = np.sign(utility[judgments.left[known]] - utility[judgments.right[known]])
    decided = winner != 0
    compared = decided & (predicted != 0)
    counted = np.isfinite(agree)
    counts = {
        "judgments": per_rater(np.ones(len(rater), dtype=bool)), "ties": per_rater(winner == 0),
        "decided": per_rater(decided), "left": per_rater(winner > 0),
        "consensus_items": per_rater(counted), "consensus": per_rater(counted & (agree == 1)),
        "compared": per_rater(compared), "matched": per_rater(compared & (np.sign(winner) == predicted)),
    }

    def share(numerator, denominator):
        """Per rater numerator / denominator as Python floats, None where the denominator is 0."""
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = counts[numerator] / counts[denominator]
        return [value if count else None for value, count in zip(ratio.tolist(), counts[denominator].tolist())]

    columns = zip(judgments.raters, counts["judgments"].astype(int).tolist(), share("ties", "judgments"),
                  share("left", "decided"), share("consensus", "consensus_items"),
                  counts["consensus_items"].astype(int).tolist(), share("matched", "compared"),
                  [None] * n_raters if careless is None else careless.rater_careless.tolist())
    return [RaterRow(rater=name, judgments=n, tie_rate=ties, left_share=left, consensus_agreement=consensus,
                     consensus_items=items, model_agreement=model, careless_probability=clicker)
            for name, n, ties, left, consensus, items, model, clicker in columns if n]


def gold_summary(judgments):
    """Accuracy on gold (attention) items, overall and per rater (counted by grouping)."""
    gold = judgments.gold != 0
    if not np.any(gold):
        return {"items": 0, "accuracy": None, "by_rater": {}}
    correct = judgments.winner[gold] == judgments.gold[gold]
    rater = judgments.rater[gold]
    known = rater >= 0
    items = np.bincount(rater[known], minlength=len(judgments.raters)).tolist()
    right = np.bincount(rater[known], weights=correct[known], minlength=len(judgments.raters)).astype(int).tolist()
    by_rater = {name: {"items": n, "correct": c} for name, n, c in zip(judgments.raters, items, right) if n}
    return {"items": int(gold.sum()), "accuracy": float(correct.mean()), "by_rater": by_rater}
