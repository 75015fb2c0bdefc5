"""How many judgments a design needs for a target interval half-width on every main effect.

`judgments_needed` is what `manage.py plan` calls, so it must take seconds, not minutes:

1. The real scheduler (designs.schedule.plan_pairs) lays out a pilot of PILOT_JUDGMENTS items.
2. Their Fisher information under the design's rating scale at "no effects" is computed exactly
   (a judgment of pair d adds i(0) d d^T, with i(0) the information of one ordinal judgment at
   eta = 0), which gives the model-based SE at the pilot size.
3. A few full simulations at the pilot size (moderate effects) (answer-level noise, random clickers, position bias,
   the analysis's own robust errors) give the factor by which honest errors exceed the
   model-based ones; that calibration is the only random part.
4. Because SE scales as 1/sqrt(N), N = pilot * (z * SE_pilot / half-width)^2, maximised over
   effects.

Assuming no effects is conservative for small effects (information per judgment is largest at
eta = 0, but the ties and clickers are modelled), and the calibrated inflation carries the
defaults of `SimulatedRaters`.
"""
import math

import numpy as np
from scipy.special import expit

from .estimate import Settings, estimate_effects
from .simulate import SCALES, SimulatedRaters, simulate_judgments
from .tables import treatment_dummies

PILOT_JUDGMENTS = 1200
CALIBRATION_RUNS = 8
# Effects the calibration simulates: moderate, alternating in sign.  With no effects at all,
# attentive raters and random clickers differ only in how they use the scale, the mixture is
# barely identified, and the calibration would mostly measure that.
CALIBRATION_EFFECT = 0.3
Z = 1.96


def judgment_information(raters):
    """Fisher information about eta of one judgment at eta = 0 on the raters' scale."""
    cuts = np.concatenate([[-np.inf], raters.thresholds(), [np.inf]])
    cdf = np.where(np.isfinite(cuts), expit(np.where(np.isfinite(cuts), cuts, 0.0)), (cuts > 0).astype(float))
    density = cdf * (1 - cdf)
    probability = np.diff(cdf)
    return float(np.sum(np.diff(density) ** 2 / probability))


def pilot_items(design, runs, seed, n_judgments=PILOT_JUDGMENTS):
    from designs.schedule import plan_pairs

    rating = design.rating
    items = plan_pairs(runs, design.levels_per_factor, len(design.queries), n_judgments, seed=seed,
                       per_rater=rating.per_rater, overlap=rating.overlap, raters_per_item=rating.raters_per_item)
    return np.array([(i.rater, i.query, i.left, i.right) for i in items]).T


def judgments_needed(design, target_halfwidth=0.2, seed=0, raters=None):
    """Judgments for a 95% interval of +- target_halfwidth (log-odds) on every main effect."""
    from designs.matrix import design_matrix

    raters = raters or SimulatedRaters(scale=design.rating.scale)
    if raters.scale not in SCALES:
        raise ValueError(f"unknown rating scale {raters.scale!r}")
    runs = design_matrix(design.levels_per_factor, design.array, design.foldover).runs
    dummies = treatment_dummies(runs, design.levels_per_factor)
    rater, query, left, right = pilot_items(design, runs, seed)
    x = np.column_stack([dummies[left] - dummies[right], np.ones(len(left))])
    information = judgment_information(raters) * x.T @ x
    analytic_se = np.sqrt(np.diag(np.linalg.pinv(information)))[:-1]
    rng = np.random.default_rng(seed)
    effects = CALIBRATION_EFFECT * (-1.0) ** np.arange(dummies.shape[1])
    ratios = []
    for _ in range(CALIBRATION_RUNS):
        judgments, _ = simulate_judgments(dummies, effects, rater, query, left, right, raters, rng,
                                          n_queries=len(design.queries))
        estimate = estimate_effects(dummies, judgments, Settings())
        ratios.append(np.mean(estimate.std_errors()[:-1] ** 2 / analytic_se ** 2))
    # The median keeps one odd simulation (a mixture that mistakes attentive raters for
    # clickers) from deciding the answer.
    inflation = float(np.median(ratios))
    pilot_se = analytic_se * math.sqrt(max(inflation, 1.0))
    return int(math.ceil(len(left) * float(np.max((Z * pilot_se / target_halfwidth) ** 2))))
