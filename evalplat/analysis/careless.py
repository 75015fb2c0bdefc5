"""Careless raters: a rater-level mixture of attentive raters and random clickers.

Each rater is, as a whole, either attentive (their judgments follow the paired-comparison model)
or a random clicker (their judgments ignore the answers and follow one category distribution q
shared by all clickers, which also captures clickers who favour one side).  The share of clickers
rho has a weak Beta(1, 4) prior (mean 0.2, mode 0), so with no evidence of clickers it goes to
zero.  Without this component, a share rho of clickers flattens every effect by a factor of
about (1 - rho), or more when clickers prefer extreme categories.

Fitted by EM (Dempster, Laird and Rubin 1977): the E-step gives each rater's posterior
probability of being attentive from the likelihoods of all their judgments; the M-step refits
the model with those probabilities as judgment weights, updates q from the clickers' weighted
category counts and rho from the posteriors.  Standard errors then treat the weights as known;
the cluster-robust variance (clustered by rater among others) absorbs what that ignores.
"""
from dataclasses import dataclass, replace

import numpy as np

from .model import fit_pairs, row_loglik
from .robust import cluster_sums

SHARE_PRIOR = (1.0, 4.0)   # Beta(a, b) on the share of random clickers
MAX_EM_STEPS = 200


@dataclass
class CarelessFit:
    fit: object                 # the model Fit at the EM optimum
    share: float                # estimated share of random clickers
    rater_careless: np.ndarray  # posterior probability that each rater is a random clicker
    clicker_distribution: np.ndarray  # q: category probabilities of a random clicker
    weight: np.ndarray          # per judgment: posterior probability its rater is attentive
    iterations: int


def _interval_mass(q, lo, hi):
    cumulative = np.concatenate([[0.0], np.cumsum(q)])
    return cumulative[hi + 1] - cumulative[lo]


def _update_clicker_distribution(q, lo, hi, weight, n_categories):
    """EM update of q from coarsened categories: split each interval in proportion to q."""
    mass = _interval_mass(q, lo, hi)
    counts = np.zeros(n_categories)
    for k in range(n_categories):
        inside = (lo <= k) & (k <= hi)
        counts[k] = np.sum(weight[inside] * q[k] / mass[inside])
    counts += 0.5   # a Jeffreys-like pseudo-count keeps every category possible
    return counts / counts.sum()


def fit_careless(rows, rater, penalty=None, tol=1e-7):
    """Fit the mixture; `rows` is collapsed PairData (its `inverse` maps judgments to rows).

    `rater` holds each judgment's rater index (>= 0 for every judgment).
    """
    rows = replace(rows, weight=rows.weight.copy())
    inverse = rows.inverse
    n_raters = int(rater.max()) + 1
    k = rows.scale.n_categories
    base_weight = np.bincount(inverse, minlength=len(rows.weight)).astype(float)
    q = np.full(k, 1.0 / k)
    share = 0.05
    attentive = np.ones(len(inverse))
    fit = fit_pairs(rows, penalty=penalty)
    posterior = np.zeros(n_raters)
    em_converged = False
    for iteration in range(1, MAX_EM_STEPS + 1):
        model_ll = row_loglik(rows, fit.params, rows.x.shape[1])[inverse]
        clicker_ll = np.log(_interval_mass(q, rows.lo, rows.hi))[inverse]
        by_rater_model = np.bincount(rater, weights=model_ll, minlength=n_raters)
        by_rater_clicker = np.bincount(rater, weights=clicker_ll, minlength=n_raters)
        log_odds = (np.log(share) + by_rater_clicker) - (np.log1p(-share) + by_rater_model)
        new_posterior = 1.0 / (1.0 + np.exp(-np.clip(log_odds, -700, 700)))
        attentive = 1.0 - new_posterior[rater]
        a, b = SHARE_PRIOR
        share = float(np.clip((new_posterior.sum() + a - 1) / (n_raters + a + b - 2), 1e-6, 1 - 1e-6))
        clicker_rows = np.bincount(inverse, weights=1.0 - attentive, minlength=len(base_weight))
        q = _update_clicker_distribution(q, rows.lo, rows.hi, clicker_rows, k)
        rows.weight = np.bincount(inverse, weights=attentive, minlength=len(base_weight))
        fit = fit_pairs(rows, penalty=penalty, start=fit.params)
        change = np.max(np.abs(new_posterior - posterior))
        posterior = new_posterior
        if change < tol:
            em_converged = True
            break
    # An EM stopped by its cap has not found the mixture's maximum, whatever the last weighted fit says.
    fit = replace(fit, converged=fit.converged and em_converged)
    return CarelessFit(fit=fit, share=share, rater_careless=posterior, clicker_distribution=q,
                       weight=attentive, iterations=iteration)


def _clicker_scores(q, lo, hi):
    """d log q(interval) / d phi for each judgment (softmax phi, last category fixed), and the
    per-interval Hessian term diag(r) - r r^T that coarsened intervals add back."""
    k = len(q)
    inside = (np.arange(k)[None, :] >= lo[:, None]) & (np.arange(k)[None, :] <= hi[:, None])
    r = np.where(inside, q[None, :], 0.0)
    r /= r.sum(axis=1, keepdims=True)
    return (r - q[None, :])[:, :k - 1], r[:, :k - 1]


def mixture_information(careless, information, judgment_scores, rater, rows):
    """Observed information of the marginal mixture likelihood and per-judgment scores, in the
    parameters (model parameters, logit attentive share, clicker logits).

    Louis (1982): observed = complete-data information - sum_r w_r (1 - w_r) d_r d_r^T with
    d_r the difference between the rater's complete-data scores as attentive and as clicker.
    Leaving the share and q out (treating them as known) makes intervals undercover by a few
    points, which the coverage simulation shows.  Returns None when the share sits at its
    boundary (no clickers found), where the plain weighted fit is the right answer.
    """
    attentive_share = 1.0 - careless.share
    if min(careless.share, attentive_share) < 1e-4:
        return None
    n_raters = len(careless.rater_careless)
    w = 1.0 - careless.rater_careless
    q = careless.clicker_distribution
    row_u, row_r = _clicker_scores(q, rows.lo, rows.hi)
    u = row_u[rows.inverse]
    clicker_weight = (1.0 - w)[rater]
    row_clicker_weight = np.bincount(rows.inverse, weights=clicker_weight, minlength=len(rows.lo))
    k1 = len(q) - 1
    q_curvature = np.diag(q[:k1]) - np.outer(q[:k1], q[:k1])
    q_info = clicker_weight.sum() * q_curvature - (row_r * row_clicker_weight[:, None]).T @ row_r \
        + np.diag((row_r * row_clicker_weight[:, None]).sum(axis=0))
    a, b = SHARE_PRIOR
    share_info = (n_raters + a + b - 2) * attentive_share * (1 - attentive_share)
    q_dim = information.shape[0]
    complete = np.zeros((q_dim + 1 + k1, q_dim + 1 + k1))
    complete[:q_dim, :q_dim] = information
    complete[q_dim, q_dim] = share_info
    complete[q_dim + 1:, q_dim + 1:] = q_info

    def by_rater(values):
        return cluster_sums(values, rater, n_raters)

    difference = np.column_stack([by_rater(judgment_scores), np.ones(n_raters), -by_rater(u)])
    observed = complete - (difference * (w * (1 - w))[:, None]).T @ difference
    counts = np.bincount(rater, minlength=n_raters)
    scores = np.column_stack([judgment_scores * w[rater][:, None],
                              ((w - attentive_share) / np.maximum(counts, 1))[rater],
                              u * clicker_weight[:, None]])
    if np.any(np.linalg.eigvalsh(observed) <= 0):
        return None
    return observed, scores
