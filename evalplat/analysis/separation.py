"""Does the maximum-likelihood estimate exist?  A linear programme on the judged pairs.

The log-likelihood of the paired-comparison model is bounded above by 0, so the MLE of
(beta, gamma) fails to exist exactly when some direction d raises no row's linear predictor
against its outcome: x_i . d >= 0 for every judgment whose category interval reaches the top
("left better", in any strength), <= 0 for every one reaching the bottom, and = 0 for a
judgment in an interior category (a tie, or "better" on a strength scale), whose probability
vanishes at either infinity; with x . d != 0 somewhere that is (quasi-)complete separation
(Albert and Anderson 1984; Konis 2007 finds it the same way), with x . d = 0 everywhere a
direction the judgments say nothing about.  Thresholds need no direction of their own: their
prior (model.THRESHOLD_PRIOR_SD) keeps them finite.

The programme maximises sum_top x.d - sum_bottom x.d over |d_j| <= 1 with those constraints;
a positive optimum is a separating direction.  It runs on the distinct rows of x, so it costs
milliseconds at any number of judgments, and not at all where rows held at x.d = 0 (interior
outcomes) already span every direction: then d = 0 is the only feasible point.
"""
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

# An optimum below this (the rows are 0/+-1 differences, d within the unit box) is rounding.
TOLERANCE = 1e-7
PROBE_ROWS = 4096   # interior rows whose span is checked before the programme


@dataclass(frozen=True)
class Separation:
    """What the LP found: nothing, a separating direction, or directions the data cannot see."""
    separated: bool
    unidentified: bool
    direction: np.ndarray | None    # over (beta, gamma): the columns that run off to infinity

    @property
    def mle_exists(self):
        return not (self.separated or self.unidentified)


def find_separation(rows):
    """Check collapsed PairData `rows` (rows of zero weight are ignored).

    Returns
    -------
    Separation
    """
    used = rows.weight > 0
    lo, hi = rows.lo[used], rows.hi[used]
    top = rows.scale.n_categories - 1
    up, down = (hi == top) & (lo > 0), (lo == 0) & (hi < top)
    interior = ~(up | down)
    # x.d = 0 on interior rows that span every direction leaves only d = 0: nothing separates,
    # and every direction is seen.  Any subset of them that spans shows it, so a sample of a
    # few thousand settles the common case without the programme.
    held = np.flatnonzero(used)[interior]
    probe = held[::max(1, len(held) // PROBE_ROWS)]
    if len(probe) and np.linalg.matrix_rank(np.column_stack([rows.x[probe], np.ones(len(probe))])) \
            == rows.x.shape[1] + 1:
        return Separation(separated=False, unidentified=False, direction=None)
    x = np.column_stack([rows.x[used], np.ones(int(used.sum()))])
    # Only distinct constraints matter: a row with the same x as another says the same about d,
    # and an x judged both up and down is held at x.d = 0 like an interior row.  With
    # covariates (the style check) the rows are nearly one per judgment, and their duplicates
    # made the programme cost seconds.
    distinct, which = np.unique(x, axis=0, return_inverse=True)
    which = which.ravel()
    seen_up = np.bincount(which[up], minlength=len(distinct)) > 0
    seen_down = np.bincount(which[down], minlength=len(distinct)) > 0
    equal = (np.bincount(which[interior], minlength=len(distinct)) > 0) | (seen_up & seen_down)
    unidentified = bool(np.linalg.matrix_rank(distinct) < x.shape[1]) if len(distinct) else True
    if equal.any() and np.linalg.matrix_rank(distinct[equal]) == x.shape[1]:
        return Separation(separated=False, unidentified=False, direction=None)   # as for the probe
    objective = -(x[up].sum(axis=0) - x[down].sum(axis=0))
    upper = np.vstack([-distinct[seen_up & ~equal], distinct[seen_down & ~equal]])
    result = linprog(objective, A_ub=upper if len(upper) else None, b_ub=np.zeros(len(upper)) if len(upper) else None,
                     A_eq=distinct[equal] if equal.any() else None,
                     b_eq=np.zeros(int(equal.sum())) if equal.any() else None,
                     bounds=[(-1.0, 1.0)] * x.shape[1], method="highs")
    separated = bool(result.status == 0 and -result.fun > TOLERANCE)
    return Separation(separated=separated, unidentified=unidentified,
                      direction=np.where(np.abs(result.x) > TOLERANCE, result.x, 0.0) if separated else None)
