"""How many judgments a design needs for a target interval half-width on every main effect.

`power_plan` is what `manage.py plan` calls (through `preview`), so it must take seconds, and it
must promise what `analyze` will deliver.  It therefore uses what the analysis and the rating app
will use:

* the items raters really do: `rating.per_rater` items each, of which a share `gold_rate` are
  attention items that the effects never see, and `overlap` repeats, laid out by the real
  scheduler (designs.schedule.plan_pairs);
* the intervals `analyze` reports: cluster-robust errors with Student's t on
  min(queries, raters) - 1 degrees of freedom when there are at least MIN_CLUSTERS of each
  (normal quantiles otherwise), the raters being those that N judgments take.

The steps:

1. A pilot of PILOT_JUDGMENTS scheduled items; their Fisher information under the rating scale at
   "no effects" (a judgment of pair d adds i(0) d d^T) gives model-based SEs at the pilot size.
2. CALIBRATION_RUNS full simulations of judgments of the pilot (moderate effects, answer-level noise, random
   clickers, position bias), analysed as `analyze` would, give the factor c by which the widest
   half-width a reader would see exceeds q * the largest model-based SE: honest errors are larger
   than model-based ones, and the widest of several noisy robust errors lies above the largest
   true one, so this is the quantity to hold to the target.
3. SE scales as 1/sqrt(N), so N = pilot * (c * q * SE_pilot / half-width)^2, with q the quantile
   at N's own degrees of freedom (a fixed point: more judgments, more raters, more df).
4. The check: CHECK_RUNS simulations of judgments of one fresh schedule of exactly that study.
   One study's widest half-width varies by about 20% (robust errors on a dozen or so clusters),
   so the promise is that their mean plus its own Monte-Carlo standard error is within the
   target; while it is not, N grows by the squared ratio.

The judgments of a schedule are cheap to simulate and fit (tens of milliseconds); laying out a
schedule of thousands of items is what costs, which is why each step reuses one.

The simulated raters are `SimulatedRaters`' defaults; `PowerPlan.assumptions` says so in words.
"""
import math
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from .effects import quantile
from .estimate import MIN_CLUSTERS, Settings, estimate_effects
from .simulate import SCALES, SimulatedRaters, simulate_judgments
from .tables import treatment_dummies

PILOT_JUDGMENTS = 1200
# Effects the simulations use: moderate, alternating in sign.  With no effects at all,
# attentive raters and random clickers differ only in how they use the scale, the mixture is
# barely identified, and the simulations would mostly measure that.
CALIBRATION_EFFECT = 0.3
CALIBRATION_RUNS = 8
CHECK_RUNS = 16
CHECK_ROUNDS = 2


@dataclass(frozen=True)
class PowerPlan:
    """The judgments a design needs, and everything the number rests on."""
    judgments: int               # items raters do, attention items included
    effect_judgments: int        # of them, the judgments the effects are fitted to
    attention_items: int
    raters: int
    per_rater: int
    interval_method: str         # "robust" or "model", by analyze's rule at this many clusters
    df: int | None               # Student's t degrees of freedom (None: normal quantiles)
    quantile: float
    halfwidth: float             # the target
    checked_halfwidth: float     # mean widest reported half-width over the check's simulations...
    checked_error: float         # ...its Monte-Carlo standard error...
    checked_judgments: int       # ...of studies with this many effect judgments (effect_judgments unless
                                 # the last check failed and N grew after it)
    check_runs: int
    raters_model: SimulatedRaters

    def assumptions(self):
        """What the number assumes, in lines for `plan` and the console."""
        q = (f"Student's t on {self.df} degrees of freedom (min(queries, raters) - 1), q = {self.quantile:.2f}"
             if self.df is not None else f"normal quantiles, q = {self.quantile:.2f} (too few clusters for "
                                         f"cluster-robust errors)")
        r = self.raters_model
        return [
            f"{self.raters} raters doing {self.per_rater} items each: {self.effect_judgments} judged pairs and "
            f"{self.attention_items} attention items",
            f"intervals as analyze reports them: {self.interval_method} errors, {q}",
            f"simulated raters: {r.scale} scale, {r.careless_share:.0%} random clickers, position bias "
            f"{r.position_bias:+.1f}, answer-to-answer SD {r.answer_sd:.1f} log-odds, effects of "
            f"+/-{CALIBRATION_EFFECT}",
            f"checked: {self.check_runs} simulated studies with {self.checked_judgments} judged pairs, analysed "
            f"as analyze does, gave a mean widest half-width of +/-{self.checked_halfwidth:.3f} "
            f"(Monte-Carlo SE {self.checked_error:.3f}; target +/-{self.halfwidth})",
        ]


def judgment_information(raters):
    """Fisher information about eta of one judgment at eta = 0 on the raters' scale."""
    cuts = np.concatenate([[-np.inf], raters.thresholds(), [np.inf]])
    cdf = np.where(np.isfinite(cuts), expit(np.where(np.isfinite(cuts), cuts, 0.0)), (cuts > 0).astype(float))
    density = cdf * (1 - cdf)
    probability = np.diff(cdf)
    return float(np.sum(np.diff(density) ** 2 / probability))


def effect_items_per_rater(rating):
    """Of a rater's `per_rater` items, those that are not attention items (designs.schedule.is_gold_slot
    spreads them at `gold_rate`)."""
    return max(1, rating.per_rater - math.floor(rating.per_rater * rating.gold_rate))


def pilot_items(design, runs, seed, n_judgments=PILOT_JUDGMENTS):
    """The effect judgments of a study of `n_judgments` of them, as the scheduler lays them out."""
    from designs.schedule import plan_pairs

    rating = design.rating
    items = plan_pairs(runs, design.levels_per_factor, len(design.queries), n_judgments, seed=seed,
                       per_rater=effect_items_per_rater(rating), overlap=rating.overlap,
                       raters_per_item=rating.raters_per_item,
                       interactions=design.analysis.interaction_indices(f.name for f in design.factors))
    return np.array([(i.rater, i.query, i.left, i.right) for i in items]).T


def interval_rule(n_queries, n_raters):
    """analyze's interval method and degrees of freedom for these cluster counts (estimate.py)."""
    if n_queries >= MIN_CLUSTERS and n_raters >= MIN_CLUSTERS:
        return "robust", max(min(n_queries, n_raters) - 1, 1)
    return "model", None


def _study_size(effect_judgments, rating, n_queries):
    """(raters, attention items, interval method, df) for a study with this many effect judgments."""
    per_rater = effect_items_per_rater(rating)
    raters = math.ceil(effect_judgments / per_rater)
    attention = raters * rating.per_rater - effect_judgments if rating.gold_rate > 0 else 0
    return (raters, max(attention, 0)) + interval_rule(n_queries, raters)


def _effects(dummies):
    return CALIBRATION_EFFECT * (-1.0) ** np.arange(dummies.shape[1])


def widest_halfwidth(estimate):
    """The widest 95% half-width `analyze` would report for this fit's effects."""
    return float(quantile(estimate.df) * np.max(estimate.std_errors()[:-1]))


def simulated_widest(dummies, items, n_queries, raters, rng, runs):
    """The widest reported half-width of each of `runs` simulated studies of scheduled `items`."""
    rater, query, left, right = items
    widest = []
    for _ in range(runs):
        judgments, _ = simulate_judgments(dummies, _effects(dummies), rater, query, left, right, raters, rng,
                                          n_queries=n_queries)
        widest.append(widest_halfwidth(estimate_effects(dummies, judgments, Settings())))
    return np.array(widest)


def power_plan(design, target_halfwidth=0.2, seed=0, raters=None):
    """Judgments for a 95% interval of +- target_halfwidth (log-odds) on every main effect.

    Returns
    -------
    PowerPlan
    """
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
    pilot_se = float(np.max(analytic_se))
    n_queries = len(design.queries)
    rng = np.random.default_rng(seed)
    _, _, _, pilot_df = _study_size(len(left), design.rating, n_queries)
    widest = simulated_widest(dummies, (rater, query, left, right), n_queries, raters, rng, CALIBRATION_RUNS)
    factor = max(float(np.mean(widest)) / (quantile(pilot_df) * pilot_se), 1.0)
    needed = len(left)
    for _ in range(20):       # the df grow with N, so N settles on a fixed point in a few steps
        _, _, _, df = _study_size(needed, design.rating, n_queries)
        following = math.ceil(len(left) * (factor * quantile(df) * pilot_se / target_halfwidth) ** 2)
        if following == needed:
            break
        needed = following
    for round_ in range(CHECK_ROUNDS + 1):
        items = pilot_items(design, runs, seed + 1 + round_, n_judgments=needed)
        widest = simulated_widest(dummies, items, n_queries, raters, rng, CHECK_RUNS)
        checked, error, checked_at = float(np.mean(widest)), float(np.std(widest, ddof=1) / math.sqrt(CHECK_RUNS)), needed
        if checked + error <= target_halfwidth or round_ == CHECK_ROUNDS:
            break
        needed = math.ceil(needed * ((checked + error) / target_halfwidth) ** 2)
    n_raters, attention, method, df = _study_size(needed, design.rating, n_queries)
    return PowerPlan(judgments=needed + attention, effect_judgments=needed, attention_items=attention,
                     raters=n_raters, per_rater=design.rating.per_rater, interval_method=method, df=df,
                     quantile=quantile(df), halfwidth=target_halfwidth, checked_halfwidth=checked,
                     checked_error=error, checked_judgments=checked_at, check_runs=CHECK_RUNS, raters_model=raters)


def judgments_needed(design, target_halfwidth=0.2, seed=0, raters=None):
    """`power_plan(...).judgments`: the items raters do, attention items included."""
    return power_plan(design, target_halfwidth, seed, raters).judgments
