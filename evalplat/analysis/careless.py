"""Careless raters: a rater-level mixture of attentive raters and random clickers.

A random clicker is a rater whose judgments do not depend on the answers.  Clicking is easy to
confuse with three honest habits, so both components give every rater their own:

* tie-proneness and a taste for "much better": the rater's own ordered thresholds u_r;
* position bias: the rater's own left bias g_r;
* noise: an attentive rater's own discrimination a_r = exp(s_r), the factor by which their
  judgments follow the model's utility differences (a noisy rater has a_r well below 1).

Rater r's judgments follow the cumulative-logit model of `model` with linear predictor
a_r * eta + g_r, eta = (z_left - z_right) @ beta the pair's utility difference.  An attentive
rater has s_r ~ N(0, DISCRIMINATION_SD^2), so a noisy rater's a_r = 0.4 is ordinary but an
attentive rater cannot mimic a clicker's a_r = 0 for free; a clicker is the same model with
a_r = 0, so the two components differ in nothing but whether the judgments follow the answers,
and a tie-prone,
side-biased or noisy careful rater is not mistaken for a clicker (the former model, one shared
category distribution for all clickers against the shared thresholds of attentive raters,
flagged 38% of noisy and 3 of 6 tie-prone raters).  g_r ~ N(gamma, 1) and u_r ~ N(u, 1) around
the fit's own, in both components.

The evidence for each component is its marginal likelihood, by Laplace's approximation over the
rater's parameters (Tierney and Kadane 1986): log m = l(theta) + log p(theta) + k/2 log 2pi
- 1/2 log det H at the mode.  The clicker is fitted by the same code with eta = 0, where s_r
meets only its prior and integrates out exactly.  The share of clickers rho has a weak
Beta(1, 4) prior (mean 0.2, mode 0) and is integrated out on a grid: each rater's probability of
clicking is its posterior mean over rho, so the expected number of clickers is a posterior
expectation.  (The mode of rho, which EM would give, sits at 0 whenever most raters carry little
evidence either way, and then every clicker is called attentive; with rho fixed at a guess the
count is the guess's.)  Without this component a share rho of clickers flattens every effect by a
factor of about (1 - rho).

Fitted by EM (Dempster, Laird and Rubin 1977): the E-step moves both components of every rater
one batched Newton step towards their modes at the current beta and gives each rater's
posterior probability of clicking; the M-step refits the model with those probabilities
as judgment weights.  While only the prior of the raters' discrimination still creeps (its
empirical-Bayes sd moves by a few per cent per step for a dozen steps), the E-step's Newton steps
are taken on each rater's quadratic log-likelihood from the last pass over the judgments, which
is a few numbers per rater instead of a million rows; convergence is still only declared after
passes over the judgments in which no rater moves.  Standard errors then treat the weights as
known, corrected by Louis's formula for the mixture (`mixture_information`); the cluster-robust
variance (clustered by rater among others) absorbs the rest.
"""
from dataclasses import dataclass, replace

import numpy as np
from scipy import sparse

from .model import fit_pairs

SHARE_PRIOR = (1.0, 4.0)   # Beta(a, b) on the share of random clickers
SHARE_LIMITS = (1e-6, 1 - 1e-6)
SHARE_POINTS = 201         # the share is integrated out on this many points...
SHARE_SPAN = 10.0          # ...over its posterior mode +- this many posterior SDs
SERIES_RATIO, SERIES_TOL = 0.5, 1e-17   # the grid sums by power series when it is narrow (see _SharePowerSeries)
MAX_EM_STEPS = 200
DISCRIMINATION_SD = 0.4    # an attentive rater's log a_r ~ N(0, sd^2) to start with; then estimated...
DISCRIMINATION_SD_LIMITS = (0.1, 1.0)   # ...within these limits
SD_TOL = 3e-3
MAX_MISSING = 0.5          # the mixture's Louis correction removes at most this share of information
NUISANCE_SD = 1.0          # g_r ~ N(gamma, sd^2), u_r ~ N(u, sd^2)
MAX_STEP = 1.0
RIDGE_FLOOR = 1e-6         # a rater's -H is ridged up to at least this smallest eigenvalue
# Posteriors that move less than this between EM steps (and effects less than BETA_TOL) are converged.
POSTERIOR_TOL = 1e-4
BETA_TOL = 1e-5
RATER_TOL = 1e-4           # ...and the raters' own parameters less than this
QUADRATIC_RADIUS = 0.1     # raters step on their quadratics within this distance of where those were taken...
QUADRATIC_ETA = 0.01       # ...and the effects this close (in utility differences) to the effects there


@dataclass
class CarelessFit:
    fit: object                 # the model Fit at the EM optimum
    share: float                # estimated share of random clickers
    rater_careless: np.ndarray  # posterior probability that each rater is a random clicker
    clicker_distribution: np.ndarray  # category probabilities of the clickers, pooled (posterior-weighted)
    weight: np.ndarray          # per judgment: posterior probability its rater is attentive
    iterations: int
    converged: bool
    discrimination: np.ndarray  # each rater's a_r in the attentive component
    row_counts: object          # sparse rows x raters: how many of each rater's judgments each model row holds


def _run_starts(values):
    """Where each run of equal values of a sorted array begins (none for an empty array)."""
    return np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]])) if len(values) else \
        np.zeros(0, dtype=np.intp)


def _logistic(z):
    """The logistic CDF, exact at +-inf (1 / (1 + exp(-z)), about half the time of scipy's expit)."""
    with np.errstate(over="ignore"):
        out = np.exp(-z)
    out += 1.0
    return np.reciprocal(out, out=out)


class _RaterModel:
    """The per-rater cumulative-logit model, its log-likelihood, gradient and Hessian summed
    per rater; parameters theta_r = (s_r = log a_r, g_r, u_r), one row per rater."""

    def __init__(self, scale, lo, hi, rater, n_raters, weight, prior_mean):
        self.scale, self.lo, self.hi, self.rater, self.n_raters = scale, lo, hi, rater, n_raters
        self.weight = weight
        self.A = scale.threshold_matrix()
        self.m = self.A.shape[1]
        self.k = 2 + self.m
        # A row's thresholds enter only through its outcome (lo, hi), so the threshold parts of
        # the derivatives are summed per (rater, outcome) and multiplied by A once per group.
        n_cuts = self.A.shape[0] + 2
        present = np.bincount(lo * n_cuts + hi, minlength=n_cuts * n_cuts) > 0
        outcomes, outcome = np.flatnonzero(present), (np.cumsum(present) - 1)[lo * n_cuts + hi]
        padded = np.vstack([np.zeros(self.m), self.A, np.zeros(self.m)])
        self.A_hi, self.A_lo = padded[outcomes % n_cuts + 1], padded[outcomes // n_cuts]
        self.n_outcomes = len(outcomes)
        # Per outcome, the products of A's rows the threshold-threshold block sums (hi-lo both ways).
        # (m * m, not -1: a 2-way scale has no thresholds, m = 0, and -1 cannot be inferred from 0.)
        hh, ll, hl = (np.einsum("ci,cj->cij", x, y).reshape(len(outcomes), self.m * self.m)
                      for x, y in ((self.A_hi, self.A_hi), (self.A_lo, self.A_lo), (self.A_hi, self.A_lo)))
        self.outer = (hh, ll, hl + np.transpose(hl.reshape(len(outcomes), self.m, self.m), (0, 2, 1)).reshape(hl.shape))
        group = rater.astype(np.int64) * self.n_outcomes + outcome
        # Rows sorted by group, so that one reduceat sums every per-row piece per group
        # (fit_careless passes them in that order already, and the sort is then one pass).
        self.order = np.argsort(group, kind="stable") if np.any(group[1:] < group[:-1]) else slice(None)
        group = group[self.order]
        self.starts = _run_starts(group)
        self.groups = group[self.starts]
        sorted_rater = rater[self.order]
        self.upper_at = sorted_rater * n_cuts + hi[self.order] + 1   # into each rater's padded cuts
        self.lower_at = sorted_rater * n_cuts + lo[self.order]
        self.sorted_rater, self.sorted_weight = sorted_rater, weight[self.order]
        self._pieces = None
        self.prior_mean = prior_mean
        self.prior_precision = np.array([1 / DISCRIMINATION_SD ** 2] + [1 / NUISANCE_SD ** 2] * (1 + self.m))

    def set_discrimination_sd(self, sd):
        self.prior_precision = self.prior_precision.copy()
        self.prior_precision[0] = 1 / sd ** 2

    def _group_sums(self, theta, eta):
        """Per (rater, outcome) sums of the weighted per-row pieces of the derivatives.

        A million rows: every piece is written into one array, kept between calls, and summed by
        one reduceat, as fresh arrays of a million rows each cost more than the arithmetic."""
        n = len(self.sorted_rater)
        if self._pieces is None:
            self._pieces = np.empty((10, n))
        pieces = self._pieces
        logp, g_a, g_b, h_aa, h_bb, h_ab, s_d, s_ha, s_hb, ss_h = pieces
        cuts = np.cumsum(np.exp(theta[:, 2:]), axis=1) @ self.A.T if self.m else \
            np.zeros((self.n_raters, self.A.shape[0]))
        cuts = np.concatenate([np.full((self.n_raters, 1), -np.inf), cuts, np.full((self.n_raters, 1), np.inf)],
                              axis=1).ravel()
        slope = np.exp(theta[:, 0])[self.sorted_rater]
        slope *= eta[self.order]                       # d linear / d s, where linear = exp(s) eta + g
        shift = slope + theta[self.sorted_rater, 1]
        upper = cuts[self.upper_at] - shift
        lower = cuts[self.lower_at] - shift
        # F, f and f' of both ends (the logistic's at +-inf are exact: 1 or 0, then 0 and 0), and
        # F(upper) - F(lower) from them except where it cancels, as model._interval_probability.
        cdf_a, cdf_b = _logistic(upper), _logistic(lower)
        f_a, f_b = cdf_a * (1 - cdf_a), cdf_b * (1 - cdf_b)
        df_a, df_b = f_a * (1 - 2 * cdf_a), f_b * (1 - 2 * cdf_b)
        prob = cdf_a - cdf_b
        flip = np.flatnonzero(lower > 0)
        prob[flip] = _logistic(-lower[flip]) - _logistic(-upper[flip])
        np.maximum(prob, 1e-300, out=prob)
        np.log(prob, out=logp)
        np.divide(f_a, prob, out=g_a)
        np.divide(f_b, prob, out=g_b)
        np.negative(g_b, out=g_b)
        np.divide(df_a, prob, out=h_aa)
        h_aa -= g_a ** 2
        np.divide(df_b, prob, out=h_bb)
        np.negative(h_bb, out=h_bb)
        h_bb -= g_b ** 2
        np.multiply(g_a, g_b, out=h_ab)
        np.negative(h_ab, out=h_ab)
        np.add(g_a, g_b, out=s_d)
        s_d *= -slope                                  # slope * d eta
        np.add(h_aa, h_ab, out=s_ha)
        np.add(h_ab, h_bb, out=s_hb)
        np.add(s_ha, s_hb, out=ss_h)                   # h_eta
        s_ha *= slope
        s_hb *= slope
        ss_h *= slope
        ss_h *= slope
        pieces *= self.sorted_weight
        sums = np.zeros((10, self.n_raters * self.n_outcomes))
        if n:
            sums[:, self.groups] = np.add.reduceat(pieces, self.starts, axis=1)
        return sums.reshape(10, self.n_raters, self.n_outcomes)

    def likelihood(self, theta, eta):
        """Log-likelihood, its gradient and Hessian of every rater at `theta` (no prior)."""
        m = self.m
        logp, g_a, g_b, h_aa, h_bb, h_ab, s_d, s_ha, s_hb, ss_h = self._group_sums(theta, eta)
        h_a, h_b = h_aa + h_ab, h_ab + h_bb
        loglik, grad_s = logp.sum(axis=1), s_d.sum(axis=1)
        grad_g = -(g_a + g_b).sum(axis=1)
        h_ss, h_sg, h_gg = ss_h.sum(axis=1), (s_ha + s_hb).sum(axis=1), (h_a + h_b).sum(axis=1)
        grad_t = g_a @ self.A_hi + g_b @ self.A_lo
        cross_s = -(s_ha @ self.A_hi + s_hb @ self.A_lo)
        cross_g = -(h_a @ self.A_hi + h_b @ self.A_lo)
        outer_hh, outer_ll, outer_hl = self.outer
        tt = (h_aa @ outer_hh + h_bb @ outer_ll + h_ab @ outer_hl).reshape(self.n_raters, m, m)
        gaps = np.exp(theta[:, 2:])
        # J_r = dt/du per rater: lower triangular with column i equal to exp(u_i).
        jacobian = np.tril(np.ones((m, m)))[None, :, :] * gaps[:, None, :]
        hess = np.empty((self.n_raters, self.k, self.k))
        hess[:, 0, 0] = h_ss + grad_s               # d2 linear / ds2 = exp(s) eta, times dl/d linear
        hess[:, 0, 1] = hess[:, 1, 0] = h_sg
        hess[:, 1, 1] = h_gg
        if m:
            hess[:, :2, 2:] = np.stack([cross_s, cross_g], axis=1) @ jacobian
            hess[:, 2:, :2] = np.transpose(hess[:, :2, 2:], (0, 2, 1))
            curvature = gaps * np.cumsum(grad_t[:, ::-1], axis=1)[:, ::-1]
            hess[:, 2:, 2:] = np.transpose(jacobian, (0, 2, 1)) @ tt @ jacobian \
                + curvature[:, :, None] * np.eye(m)[None]
        grad = np.column_stack([grad_s, grad_g, np.einsum("rt,rtu->ru", grad_t, jacobian)])
        return loglik, grad, hess

    def newton_step(self, theta, loglik, grad, hess):
        """One damped Newton step for every rater from the log-likelihood `loglik`, its gradient
        and Hessian at `theta` (the prior is added here), and each rater's log marginal likelihood
        by Laplace's approximation on the quadratic model at `theta`: exact at the mode, which
        repeated steps (one per EM iteration) reach.

        Returns the new parameters, the log marginal likelihoods and the largest step taken.
        """
        deviation = theta - self.prior_mean
        value = loglik - 0.5 * np.sum(self.prior_precision * deviation ** 2, axis=1)
        grad = grad - self.prior_precision * deviation
        hess = hess - np.diag(self.prior_precision)[None]
        negative = -hess
        # Away from the mode the log-likelihood in (s, u) need not be concave: a ridge makes the
        # step an ascent direction; the marginal uses the curvature the ridge adds too.
        eye = np.eye(self.k)[None]
        try:
            # Near the modes no rater needs one (every -H_r is positive definite with room to
            # spare), and the log-determinants come from Cholesky factors at a sixth of the
            # cost of eigenvalues.
            np.linalg.cholesky(negative - RIDGE_FLOOR * eye)
            logdet = 2 * np.sum(np.log(np.diagonal(np.linalg.cholesky(negative), axis1=1, axis2=2)), axis=1)
        except np.linalg.LinAlgError:
            values = np.linalg.eigvalsh(negative)
            ridge = np.maximum(RIDGE_FLOOR - values[:, 0], 0.0)
            negative = negative + ridge[:, None, None] * eye
            logdet = np.sum(np.log(values + ridge[:, None]), axis=1)
        # One solve gives the step and (against the first unit vector) the variance of s_r.
        right = np.zeros((len(theta), self.k, 2))
        right[:, :, 0], right[:, 0, 1] = grad, 1.0
        solved = np.linalg.solve(negative, right)
        step, self.s_variance = solved[:, :, 0], solved[:, 0, 1]
        log_marginal = (value + 0.5 * np.einsum("rk,rk->r", grad, step) + 0.5 * self.k * np.log(2 * np.pi)
                        - 0.5 * logdet + 0.5 * np.sum(np.log(self.prior_precision / (2 * np.pi))))
        # A rater's parameters are log-scale: a step of more than MAX_STEP could overflow exp().
        size = np.minimum(1.0, MAX_STEP / np.maximum(np.max(np.abs(step), axis=1), 1e-300))
        return theta + size[:, None] * step, log_marginal, np.max(np.abs(size[:, None] * step), axis=1)

    def part(self, raters):
        """The model of the raters in boolean mask `raters` only, and the mask of their rows."""
        keep = raters[self.rater]
        codes = np.cumsum(raters) - 1
        part = _RaterModel(self.scale, self.lo[keep], self.hi[keep], codes[self.rater[keep]], int(raters.sum()),
                           self.weight[keep], self.prior_mean)
        part.prior_precision = self.prior_precision
        return part, keep

    def category_probabilities(self, theta):
        """Each rater's category probabilities at eta = 0 (categories are left/right oriented,
        so a clicker's side preference g_r shows as it is)."""
        t = np.cumsum(np.exp(theta[:, 2:]), axis=1)
        cuts = t @ self.A.T if self.m else np.zeros((self.n_raters, self.A.shape[0]))
        cdf = 1 / (1 + np.exp(-(cuts - theta[:, 1:2])))
        return np.diff(np.column_stack([np.zeros(self.n_raters), cdf, np.ones(self.n_raters)]), axis=1)


class _Component:
    """One component's parameters and log marginal likelihood for every rater, stepped only
    where they still move: at a million judgments, evaluating every rater at every EM step cost
    a minute, and after a few steps almost every rater has settled.

    Each evaluation also keeps every rater's log-likelihood as a quadratic around the point it
    was evaluated at (value, gradient, Hessian: a few numbers per rater), which `step` can step
    on instead of the judgments (see `fit_careless`)."""

    def __init__(self, model, start):
        self.model, self.theta = model, start.copy()
        self.log_marginal = np.zeros(model.n_raters)
        self.s_variance = np.full(model.n_raters, DISCRIMINATION_SD ** 2)
        self.moving = np.ones(model.n_raters, dtype=bool)
        self.settled_everywhere = False     # the last step covered every rater and none moved
        k = model.k
        self.at = start.copy()              # where each rater's quadratic was taken
        self.at_value, self.at_grad = np.zeros(model.n_raters), np.zeros((model.n_raters, k))
        self.at_hess = np.zeros((model.n_raters, k, k))

    def step(self, eta, within=None, everyone=False):
        """One Newton step; returns the largest move of a rater's parameters.

        Without `within`, the raters still moving (every rater when none is, or when asked
        for `everyone`) step on their judgments.  With it, every rater steps on the quadratic of
        its last evaluation, except those already further than within / 2 from where that was
        taken, which step on their judgments (and so retake it): a step on the quadratic is as
        good as one on the judgments near where it was taken, and steps shrink, so half the
        radius leaves room for the next."""
        if within is None:
            raters = self.moving.copy() if self.moving.any() and not everyone else \
                np.ones(self.model.n_raters, dtype=bool)
        else:
            raters = np.max(np.abs(self.theta - self.at), axis=1) > within / 2
        moved = np.zeros(self.model.n_raters)
        if raters.any():
            part, rows = self.model.part(raters) if not raters.all() else (self.model, slice(None))
            theta = self.theta[raters]
            value, grad, hess = part.likelihood(theta, eta[rows])
            self.at[raters], self.at_value[raters], self.at_grad[raters] = theta, value, grad
            self.at_hess[raters] = hess
            moved[raters] = self._take(raters, part.newton_step(theta, value, grad, hess), part.s_variance)
        if within is not None and not raters.all():
            quadratic = ~raters
            d = self.theta[quadratic] - self.at[quadratic]
            hess = self.at_hess[quadratic]
            hess_d = np.einsum("rij,rj->ri", hess, d)
            value = self.at_value[quadratic] + np.einsum("ri,ri->r", self.at_grad[quadratic] + 0.5 * hess_d, d)
            stepped = self.model.newton_step(self.theta[quadratic], value, self.at_grad[quadratic] + hess_d, hess)
            moved[quadratic] = self._take(quadratic, stepped, self.model.s_variance)
        self.moving = moved > RATER_TOL
        # A step on a quadratic is not one on the judgments: the next step on them covers every rater.
        self.settled_everywhere = within is None and bool(raters.all() and not self.moving.any())
        if within is not None:
            self.moving[:] = True
        return float(moved.max(initial=0.0))

    def _take(self, raters, stepped, s_variance):
        theta, log_marginal, moved = stepped
        self.theta[raters], self.log_marginal[raters] = theta, log_marginal
        self.s_variance[raters] = s_variance
        return moved


def clicker_posteriors(log_attentive, log_clicker):
    """Each rater's probability of clicking and the posterior mean share, with the share
    integrated out under its Beta prior.

    The share's log posterior sum_r log(rho m_c + (1 - rho) m_a) + log Beta(rho) is concave, so
    its mode is found by bisection on the derivative, and the integral is a SHARE_POINTS-point
    rule over the mode +- SHARE_SPAN posterior SDs (all of (0, 1) when that is wider): a fixed
    fine grid cost seconds per EM step at 25,000 raters, where the posterior is 0.002 wide; on
    such a narrow grid the sums over raters and points are power series (`_SharePowerSeries`,
    a tenth of the time, equal to 1e-15)."""
    a, b = SHARE_PRIOR
    top = np.maximum(log_attentive, log_clicker)
    clicker, attentive = np.exp(log_clicker - top), np.exp(log_attentive - top)
    difference = clicker - attentive

    def slope(rho):
        return np.sum(difference / (rho * clicker + (1 - rho) * attentive)) + (a - 1) / rho - (b - 1) / (1 - rho)

    low, high = SHARE_LIMITS
    if slope(low) <= 0:
        mode = low
    elif slope(high) >= 0:
        mode = high
    else:
        for _ in range(60):
            middle = 0.5 * (low + high)
            low, high = (middle, high) if slope(middle) > 0 else (low, middle)
        mode = 0.5 * (low + high)
    curvature = (np.sum((difference / (mode * clicker + (1 - mode) * attentive)) ** 2)
                 + (a - 1) / mode ** 2 + (b - 1) / (1 - mode) ** 2)
    spread = SHARE_SPAN / np.sqrt(max(curvature, 1e-12))
    grid = np.linspace(max(mode - spread, SHARE_LIMITS[0]), min(mode + spread, SHARE_LIMITS[1]), SHARE_POINTS)
    sums = _SharePowerSeries(attentive, clicker, mode, grid)
    if sums.terms is None:
        sums = _GridSums(attentive, clicker, grid)
    log_density = sums.log_likelihood() + (a - 1) * np.log(grid) + (b - 1) * np.log1p(-grid)
    density = np.exp(log_density - log_density.max())
    density /= density.sum()
    return sums.clicking(density), float(density @ grid)


class _GridSums:
    """sum_r log(rho m_c + (1 - rho) m_a) at each grid point, and each rater's posterior mean of
    rho m_c / (rho m_c + (1 - rho) m_a) under grid weights, summed point by point."""

    def __init__(self, attentive, clicker, grid):
        rho = grid[:, None]
        self.share_clicking = rho * clicker[None, :]
        self.either = self.share_clicking + (1 - rho) * attentive[None, :]

    def log_likelihood(self):
        return np.sum(np.log(self.either), axis=1)

    def clicking(self, density):
        return density @ (self.share_clicking / self.either)


class _SharePowerSeries:
    """`_GridSums` as power series in rho - mode, for a narrow grid (thousands of raters):
    O(raters + grid points) per series term instead of O(raters x grid points).  With
    a_r = m_a, d_r = m_c - m_a, rho m_c + (1 - rho) m_a = a_r + rho d_r.

    With e_r = a_r + mode d_r and q_r = d_r / e_r, log(a_r + rho d_r) = log e_r + log(1 + q_r
    (rho - mode)), whose series sum_k (-1)^(k+1) (q_r (rho - mode))^k / k needs only the power
    sums sum_r q_r^k; likewise 1 / (1 + q_r (rho - mode)).  Terms are taken until the largest
    |q_r (rho - mode)|^k is below SERIES_TOL; `terms` is None where that is over
    SERIES_RATIO (a wide grid: few raters), and the sums are then taken directly."""

    def __init__(self, attentive, clicker, mode, grid):
        self.clicker, difference = clicker, clicker - attentive
        self.at = attentive + mode * difference
        # Both factors scaled by the grid's half-width, so that no power overflows (q_r can be
        # 1e6 where the mode is near 0, and then the grid is as narrow).
        width = max(float(np.max(np.abs(grid - mode))), 1e-300)
        self.q, self.offset = difference / self.at * width, (grid - mode) / width
        self.grid = grid
        ratio = float(np.max(np.abs(self.q), initial=0.0))
        self.terms = (None if ratio > SERIES_RATIO else
                      max(1, int(np.ceil(np.log(SERIES_TOL) / np.log(max(ratio, 1e-300))))))

    def log_likelihood(self):
        total = np.full(len(self.offset), np.sum(np.log(self.at)))
        power, offset_power = np.ones_like(self.q), np.ones_like(self.offset)
        for k in range(1, self.terms + 1):
            power *= self.q
            offset_power *= self.offset
            total += (1 if k % 2 else -1) * (power.sum() / k) * offset_power
        return total

    def clicking(self, density):
        """Each rater's m_c sum_j density_j rho_j / (a_r + rho_j d_r) (Horner in -q_r)."""
        weight = density * self.grid
        moments = [weight @ self.offset ** k for k in range(self.terms + 1)]
        total = np.full(len(self.q), moments[-1])
        for moment in moments[-2::-1]:
            total *= -self.q
            total += moment
        return self.clicker * (total / self.at)


def fit_careless(rows, rater, penalty=None):
    """Fit the mixture; `rows` is collapsed PairData (its `inverse` maps judgments to rows).

    `rater` holds each judgment's rater index (>= 0 for every judgment).
    """
    rows = replace(rows, weight=rows.weight.copy())
    inverse = rows.inverse
    n_raters = int(rater.max()) + 1
    n_rows = len(rows.weight)
    fit = fit_pairs(rows, penalty=penalty)
    lo, hi = rows.lo[inverse], rows.hi[inverse]
    # Judgments of one rater with the same pair and outcome are one weighted row of the rater
    # model, in the order of (rater, outcome), which is the order the model sums them in.
    k = rows.scale.n_categories
    outcome_key = (rater.astype(np.int64) * k + lo) * k + hi
    # The rows' rater, outcome and pair are read back from their sorted keys (a plain sort: the
    # indices np.unique would give need a stable argsort of a million keys, twice the time).
    keys = np.sort(outcome_key * n_rows + inverse)
    starts = _run_starts(keys)
    unique, counts = keys[starts], np.diff(np.append(starts, len(keys)))
    row_of, outcome_of = unique % n_rows, unique // n_rows
    prior_mean = np.concatenate([[0.0, fit.gamma], fit.threshold_parameters])
    model = _RaterModel(rows.scale, outcome_of // k % k, outcome_of % k, outcome_of // (k * k), n_raters,
                        counts.astype(float), prior_mean)
    # A clicker's judgments do not depend on the answers (eta = 0), so its rows are one per
    # rater and outcome: a few per rater instead of one per judgment.
    outcome_first = _run_starts(outcome_of)
    outcomes = outcome_of[outcome_first]
    clicker_model = _RaterModel(rows.scale, outcomes // k % k, outcomes % k, outcomes // (k * k), n_raters,
                                np.add.reduceat(counts, outcome_first).astype(float), prior_mean)
    # How many of each rater's judgments each row holds: a row's weight is then one sparse
    # product with the raters' attentive probabilities, not a pass over the judgments per step.
    rater_rows = sparse.csr_matrix((np.ones(len(rater)), (inverse, rater)), shape=(n_rows, n_raters))
    start = np.tile(prior_mean, (n_raters, 1))
    attentive, clicker = _Component(model, start), _Component(clicker_model, start)
    share, posterior, converged = 0.0, np.zeros(n_raters), False
    discrimination_sd = DISCRIMINATION_SD
    no_answers = np.zeros(len(outcome_first))
    creeping, taken_at, last_move = False, None, np.inf
    for iteration in range(1, MAX_EM_STEPS + 1):
        # The raters' own parameters take one Newton step per EM iteration (an ECM step,
        # Meng and Rubin 1993): fitting them to convergence each time cost most of the EM.
        # A settled rater is left alone until every rater has settled, then all are checked
        # once more at the current effects; the clickers' side does not depend on them.
        # While only the spread's prior creeps (below), every rater moves a little per step,
        # and the step is taken on each rater's quadratic from the last pass over the
        # judgments, as long as it stays within QUADRATIC_RADIUS of where that was taken
        # and the effects moved the utility differences less than QUADRATIC_ETA since.
        eta = (rows.x @ fit.beta)[row_of]
        shift = np.inf if taken_at is None else np.max(np.abs(rows.x @ (fit.beta - taken_at)), initial=0.0)
        if creeping and last_move < QUADRATIC_RADIUS and shift < QUADRATIC_ETA:
            attentive.step(eta, within=QUADRATIC_RADIUS)
        else:
            # While most raters move, all step (the settled ones by less than RATER_TOL): that
            # costs no more than cutting the rows of the few out, and retakes every quadratic
            # (at 3M judgments a handful of raters settle at once, and steps on the quadratics
            # need them all taken at the same effects).
            everyone = not attentive.moving.any() or attentive.moving.mean() > 0.5
            last_move = attentive.step(eta, everyone=everyone)
            last_move, taken_at = (last_move, fit.beta) if everyone else (np.inf, None)
        if not clicker.settled_everywhere:
            clicker.step(no_answers)
        new_posterior, share = clicker_posteriors(attentive.log_marginal, clicker.log_marginal)
        rows.weight = rater_rows @ (1.0 - new_posterior)
        previous = fit.beta
        fit = fit_pairs(rows, penalty=penalty, start=fit.params)
        # Empirical Bayes for how much attentive raters' discrimination varies: the
        # posterior-weighted second moment of their log a_r (an M-step for the prior's sd).
        # A fixed sd miscounts: wider than the raters really vary, it lets an attentive a_r
        # near 0 explain clickers (a million judgments found 54% of them), narrower, it
        # calls noisy raters clickers.
        weight = 1.0 - new_posterior
        spread = float(np.sqrt(np.sum(weight * (attentive.theta[:, 0] ** 2 + attentive.s_variance))
                               / max(weight.sum(), 1e-12)))
        spread = float(np.clip(spread, *DISCRIMINATION_SD_LIMITS))
        creeping = abs(spread - discrimination_sd) > SD_TOL
        if creeping:
            discrimination_sd = spread
            model.set_discrimination_sd(spread)
            clicker_model.set_discrimination_sd(spread)
            # The raters still moving take the new prior at their next step; the settled ones at
            # the pass over every rater that convergence waits for.
            attentive.settled_everywhere = False
        change = np.max(np.abs(new_posterior - posterior))
        posterior = new_posterior
        if (change < POSTERIOR_TOL and np.max(np.abs(fit.beta - previous), initial=0.0) < BETA_TOL
                and attentive.settled_everywhere and clicker.settled_everywhere):
            converged = True
            break
    # An EM stopped by its cap has not found the mixture's maximum, whatever the last weighted fit says.
    fit = replace(fit, converged=fit.converged and converged)
    clickers = model.category_probabilities(clicker.theta)
    pooled = (posterior @ clickers / posterior.sum()) if posterior.sum() > 1e-12 else clickers.mean(axis=0)
    return CarelessFit(fit=fit, share=share, rater_careless=posterior, clicker_distribution=pooled,
                       weight=1.0 - posterior[rater], iterations=iteration, converged=converged,
                       discrimination=np.exp(attentive.theta[:, 0]), row_counts=rater_rows)


def _bounded_loss(complete, missing):
    """complete - missing, with at most MAX_MISSING of the information lost in any direction.

    In the whitened coordinates of `complete` the loss is an eigen-decomposition; fractions
    above MAX_MISSING (a few raters whose posteriors sit near 1/2, whose linearised correction
    is far off) are cut back there.  Uncapped, a study of 900 judgments now and then reported
    half-widths of 2-7 log-odds where its effects were known to +-0.1."""
    values, vectors = np.linalg.eigh(complete)
    if values.min() <= 0:
        return complete - missing
    root = (vectors * np.sqrt(values)) @ vectors.T
    inverse_root = (vectors / np.sqrt(values)) @ vectors.T
    lost, directions = np.linalg.eigh(inverse_root @ missing @ inverse_root)
    kept = 1.0 - np.clip(lost, 0.0, MAX_MISSING)
    return root @ ((directions * kept) @ directions.T) @ root


def mixture_information(careless, information, row_scores, rater, p):
    """Observed information of the marginal mixture likelihood in the parameters (model
    parameters, logit attentive share), and each judgment's score for the share.

    `row_scores` are the scores of the model rows `careless` was fitted to (a judgment's score
    is its row's); a judgment's score for the model parameters is its row's times its weight.

    Louis (1982): observed = complete-data information - sum_r w_r (1 - w_r) d_r d_r^T with
    d_r the difference between the rater's complete-data scores as attentive and as clicker (a
    clicker's judgments carry no score for the model's parameters).  The raters' own nuisance
    parameters are treated as known, and only the p effects' scores differ between the
    components.  Returns None when the share sits at its boundary (no clickers found), where
    the plain weighted fit is the right answer.
    """
    attentive_share = 1.0 - careless.share
    if min(careless.share, attentive_share) < 1e-4:
        return None
    n_raters = len(careless.rater_careless)
    w = 1.0 - careless.rater_careless
    a, b = SHARE_PRIOR
    share_info = (n_raters + a + b - 2) * attentive_share * (1 - attentive_share)
    q_dim = information.shape[0]
    complete = np.zeros((q_dim + 1, q_dim + 1))
    complete[:q_dim, :q_dim] = information
    complete[q_dim, q_dim] = share_info
    difference = np.column_stack([careless.row_counts.T @ row_scores, np.ones(n_raters)])
    # Only the effects' part: a rater's position bias and thresholds are the rater's own in the
    # mixture (they are the same in both components), so the global ones' scores are no
    # difference between being attentive and clicking.  Keeping them (a position-biased rater's
    # judgments score large on the global position bias) sent half-widths to 3 or 7 log-odds.
    difference[:, p + 1:q_dim] = 0.0
    difference[:, p] = 0.0
    missing = (difference * (w * (1 - w))[:, None]).T @ difference
    observed = _bounded_loss(complete, missing)
    if np.any(np.linalg.eigvalsh(observed) <= 0):
        return None
    counts = np.bincount(rater, minlength=n_raters)
    return observed, ((w - attentive_share) / np.maximum(counts, 1))[rater]
