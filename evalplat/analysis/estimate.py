"""Fit the effects of one data set: model, careless raters, and both kinds of standard error.

`estimate_effects` is the one entry point the report, the simulations, the power analysis and
the robustness check share, so they all see the same numbers.
"""
from dataclasses import dataclass, replace

import numpy as np

from .careless import fit_careless, mixture_information
from .effects import quantile
from designs.spec import PENALTIES

from .model import Penalty, collapse, fit_pairs, loglik_grad_hess, scale_for
from .robust import two_way_cluster_covariance
from .separation import find_separation

# Below this many query (or rater) clusters, cluster-robust errors are themselves too noisy to
# lead with; the model-based errors are used and the report says so.
MIN_CLUSTERS = 5
SCORE_SLICE = 65536   # judgments' scores are gathered this many at a time


@dataclass(frozen=True)
class Settings:
    both_bad: str = "tie"          # "tie": a both-bad judgment counts as a tie; "drop": ignored
    careless: bool = True          # fit the random-clicker mixture when raters are known
    penalty: str = "auto"          # "auto": only where the MLE does not exist; "always"; "never"
    prior_sd: float = 2.5          # the penalty's N(0, prior_sd^2) on centred level effects
    interval: str = "auto"         # "auto" (robust when enough clusters), "robust" or "model"
    gold_min_items: int = 3        # exclusion rule: raters with at least this many gold items...
    gold_min_accuracy: float = 0.6  # ...and a lower gold accuracy are excluded

    @classmethod
    def for_design(cls, analysis, **overrides):
        """The settings a design's [analysis] table (a designs.spec.AnalysisSettings) asks for."""
        return cls(**{"penalty": analysis.penalty, "prior_sd": analysis.prior_sd, **overrides})


@dataclass
class Estimate:
    beta: np.ndarray
    gamma: float
    fit: object                  # model.Fit
    model_covariance: np.ndarray
    robust: object               # robust.RobustVariance
    interval_method: str         # "robust" or "model"
    careless: object = None      # careless.CarelessFit or None
    scores: np.ndarray = None    # per judgment score vector (weighted), for influence measures
    influence: np.ndarray = None  # covariance of all model parameters: maps scores to influence
    penalty_reason: str = None   # why the penalty is on ("separated", "unidentified", "asked"), None if off
    separation: object = None    # separation.Separation of the judged pairs
    available_penalty: Penalty = None  # the penalty these settings give when one is needed

    def penalty_for(self, rows):
        """The penalty for a refit of part of the judgments (a query category, the style check):
        the main fit's, or the available one when this part alone has no MLE."""
        if self.fit.penalty is not None or find_separation(rows).mle_exists:
            return self.fit.penalty
        return self.available_penalty

    @property
    def p(self):
        return len(self.beta)

    @property
    def covariance(self):
        """The covariance the intervals use."""
        return self.robust.covariance if self.interval_method == "robust" else self.model_covariance

    @property
    def df(self):
        return self.robust.df if self.interval_method == "robust" else None

    def std_errors(self, which=None):
        covariance = {"robust": self.robust.covariance, "model": self.model_covariance,
                      None: self.covariance}[which]
        return np.sqrt(np.diag(covariance))

    def interval(self, column):
        se = self.std_errors()[column]
        q = quantile(self.df)
        return self.beta[column] - q * se, self.beta[column] + q * se


def prepare(judgments, settings):
    """The judgments that enter the effect fit: no gold items, both-bad handled."""
    keep = judgments.gold == 0
    if settings.both_bad == "drop":
        keep &= ~judgments.both_bad
    used = judgments.subset(keep)
    if settings.both_bad == "tie" and np.any(used.both_bad):
        winner = np.where(used.both_bad, 0, used.winner).astype(np.int8)
        strength = np.where(used.both_bad, 0, used.strength).astype(np.int8)
        used = replace(used, winner=winner, strength=strength)
    return used




class SeparationError(ValueError):
    """The MLE does not exist and the settings forbid the penalty that would make one."""


def choose_penalty(rows, settings, factor_columns):
    """The penalty the fit uses, why, and the separation check it rests on.

    Under "auto" the estimate is the plain MLE wherever that exists, so published MLE tables are
    reproduced exactly and no contrast depends on the baseline; the penalty comes in only when
    the judged pairs separate (an effect would be infinite) or leave a direction unseen.
    """
    if settings.penalty not in PENALTIES:
        raise ValueError(f"penalty {settings.penalty!r}: expected one of {', '.join(PENALTIES)}")
    separation = find_separation(rows)
    penalty = Penalty(sd=settings.prior_sd, factor_columns=tuple(map(tuple, factor_columns)))
    if settings.penalty == "always":
        return penalty, "asked", separation
    if separation.mle_exists:
        return None, None, separation
    if settings.penalty == "never":
        what = ("some effects would be infinite (the judgments separate)" if separation.separated
                else "some effects are not identified by the pairs judged")
        raise SeparationError(f"the maximum-likelihood estimate does not exist: {what}; analyse with the "
                              f"penalty on (--penalty auto, or penalty = \"auto\" in the design's [analysis])")
    return penalty, "separated" if separation.separated else "unidentified", separation


def estimate_effects(dummies, judgments, settings=Settings(), start=None, factor_columns=None):
    """Fit the model to (prepared) judgments and compute model-based and robust covariances.

    `factor_columns` lists each factor's (start, stop) columns in `dummies`, which the penalty
    needs to centre a factor's levels; without it every column counts as a two-level factor
    of its own (right for two-level designs).
    """
    if len(judgments) == 0:
        raise ValueError("no judgments left to analyse")
    scale = scale_for(judgments.winner, judgments.strength)
    lo, hi = scale.intervals(judgments.winner, judgments.strength)
    rows = collapse(judgments.left, judgments.right, lo, hi, np.ones(len(judgments)), dummies, scale)
    p = dummies.shape[1]
    factor_columns = ([(j, j + 1) for j in range(p)] if factor_columns is None else
                      [(c.start, c.stop) if isinstance(c, slice) else tuple(c) for c in factor_columns])
    penalty, reason, separation = choose_penalty(rows, settings, factor_columns)
    careless = None
    n_raters = len(np.unique(judgments.rater[judgments.rater >= 0]))
    if settings.careless and n_raters >= 2 and np.all(judgments.rater >= 0):
        careless = fit_careless(rows, judgments.rater, penalty=penalty)
        fit = careless.fit
        weight = careless.weight
    else:
        fit = fit_pairs(rows, penalty=penalty, start=start)
        weight = np.ones(len(judgments))
    _, _, _, row_scores = loglik_grad_hess(rows, fit.params, p, penalty, want_hessian=False, want_scores=True)
    # One array of a million judgments' scores (a few hundred MB), written in place: each
    # judgment's weighted scores for the model parameters, then (with clickers) its score for
    # the share of them.
    q_dim = row_scores.shape[1]
    all_scores = np.empty((len(judgments), q_dim + 1))
    weighted_scores = scores = all_scores[:, :q_dim]
    # In slices: a million judgments' gathered rows at once were one more array of 200 MB to
    # page in (0.38 s at 1M; 0.1 s in slices that stay in the cache).
    for start in range(0, len(judgments), SCORE_SLICE):
        part = slice(start, start + SCORE_SLICE)
        np.multiply(row_scores[rows.inverse[part]], weight[part, None], out=weighted_scores[part])
    information = fit.information
    if careless is not None:
        mixture = mixture_information(careless, fit.information, row_scores, judgments.rater, p)
        if mixture is not None:
            information, all_scores[:, q_dim] = mixture
            scores = all_scores
    robust = two_way_cluster_covariance(information, scores, judgments.query, judgments.rater)
    full_covariance = np.linalg.inv(information)
    model_covariance = full_covariance
    enough = robust.n_queries >= MIN_CLUSTERS and (robust.n_raters == 0 or robust.n_raters >= MIN_CLUSTERS)
    method = settings.interval if settings.interval != "auto" else ("robust" if enough else "model")
    return Estimate(
        beta=fit.beta, gamma=fit.gamma, fit=fit,
        model_covariance=model_covariance[:p + 1, :p + 1],
        robust=type(robust)(covariance=robust.covariance[:p + 1, :p + 1], df=robust.df,
                            n_queries=robust.n_queries, n_raters=robust.n_raters),
        interval_method=method, careless=careless, scores=weighted_scores,
        influence=full_covariance[:len(fit.params), :len(fit.params)],
        penalty_reason=reason, separation=separation,
        available_penalty=Penalty(sd=settings.prior_sd, factor_columns=tuple(factor_columns)),
    )
