"""The structured paired-comparison model and its maximum-likelihood fit.

An answer's utility is the sum of its variant's treatment-coded factor-level effects, so a
judgment's linear predictor is ``eta = (z_left - z_right) @ beta + gamma`` where ``gamma`` is
the position (left) bias.  Outcomes are ordered categories, from "right much better" to "left
much better", and follow a cumulative-logit model with thresholds symmetric around zero:

    P(y <= k) = logistic(c_k - eta),   c = -c[::-1]

(McCullagh 1980; for paired comparisons Agresti 1992, "Analysis of ordinal paired comparison
data").  Which categories exist depends on the scale the data use:

=========================  =====================================  ====================
scale                      categories (low to high)               thresholds c
=========================  =====================================  ====================
left/right only            right, left                            (0)      -> Bradley-Terry
with ties                  right, tie, left                       (-t1, t1)
with strength              R much, R, L, L much                   (-t1, 0, t1)
with ties and strength     R much, R, tie, L, L much              (-t2, -t1, t1, t2)
=========================  =====================================  ====================

A left/right judgment without a strength on a strength scale is an interval of categories
("left better or much better"), so mixed data need no special casing.

The thresholds are ordered by construction: the free parameters are u with t1 = exp(u1) and
t2 = t1 + exp(u2), so 0 < t1 < t2 whatever u is.  Left free, t1 and t2 cross when a category is
never used (raters who answer only "much better" or "about the same"): the crossed cut points
still give every used category a positive probability, the fit "converges" to thresholds like
(6.3, -5.8) and every effect collapses to the prior.  In u an unused middle category sends
exp(u2) towards 0 (the boundary, where the model is the 3-category one) and an unused end
category sends it towards infinity; a weak N(0, THRESHOLD_PRIOR_SD^2) prior on u stops both a
few units out, where the effects are those of the scale without that category to three
decimals.

The log-likelihood is concave in (beta, gamma, t) because log(F(a) - F(b)) is concave for a
log-concave F (Pratt 1981) and a, b are linear in the parameters, but not necessarily in u, so
Newton's method is damped (Levenberg-Marquardt: a ridge is added until the step is an ascent
direction) and uses step halving.  A fit that stops at the step cap, or whose line search
stalls, reports ``converged=False``.

Without a `Penalty` the fit is the plain MLE.  A `Penalty` is a Gaussian prior N(0, sd^2) on
each *centred* level effect (a level's effect minus its factor's mean level effect) and on the
position bias: it keeps estimates finite under separation, or when a factor never varies within
judged pairs, and unlike a prior on the treatment-coded contrasts it does not depend on which
level is the baseline (the centred effects are the same whichever level comes first).  Whether
one is needed is decided by `separation.find_separation`; `estimate.estimate_effects` applies it
only then, unless asked otherwise.

Rows with identical (pair, outcome) are collapsed into one weighted row before fitting, which
makes a million judgments on a few dozen variants cost as much as a few thousand.
"""
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

THRESHOLD_PRIOR_SD = 5.0
# The smallest gap the starting values give an observed-but-rare category (log scale floor).
MIN_START_GAP = 0.05
MAX_NEWTON_STEPS = 200


@dataclass(frozen=True)
class Scale:
    """The ordered outcome categories a data set uses, and how thresholds map to parameters."""
    ties: bool
    strength: bool

    @property
    def n_categories(self):
        return 2 + self.ties + 2 * self.strength

    @property
    def category_names(self):
        names = ["right much better", "right better", "tie", "left better", "left much better"]
        keep = [self.strength, True, self.ties, True, self.strength]
        return [name for name, k in zip(names, keep) if k]

    def threshold_matrix(self):
        """A with c = A @ t: one row per threshold, one column per free threshold parameter."""
        if self.ties and self.strength:
            return np.array([[0, -1], [-1, 0], [1, 0], [0, 1]], dtype=float)
        if self.ties or self.strength:
            rows = [[-1], [1]] if self.ties else [[-1], [0], [1]]
            return np.array(rows, dtype=float)
        return np.zeros((1, 0))

    def intervals(self, winner, strength):
        """Lowest and highest category index consistent with each judgment."""
        winner, strength = np.asarray(winner), np.asarray(strength)
        codes = winner.dtype.kind in "iu" and strength.dtype.kind in "iu"
        if codes and len(winner) and winner.min() >= -1 and winner.max() <= 1 and strength.min() >= 0 \
                and strength.max() <= 2:
            # One lookup per judgment in a table of the nine (winner, strength) combinations,
            # which the masked assignments below fill: a million judgments in 5 ms, not 36.
            lo, hi = self._masked_intervals(np.repeat([-1, 0, 1], 3), np.tile([0, 1, 2], 3))
            index = (winner.astype(np.intp) + 1) * 3 + strength.astype(np.intp)
            return lo[index], hi[index]
        return self._masked_intervals(winner, strength)

    def _masked_intervals(self, winner, strength):
        k = self.n_categories
        middle = (k - 1) // 2 if self.ties else None
        winner = np.asarray(winner)
        strength = np.asarray(strength)
        lo = np.empty(len(winner), dtype=np.int64)
        hi = np.empty(len(winner), dtype=np.int64)
        left, right = winner > 0, winner < 0
        if self.strength:
            # left better / much better are the top two categories; blank strength means either.
            lo[left] = np.where(strength[left] == 2, k - 1, k - 2)
            hi[left] = np.where(strength[left] == 1, k - 2, k - 1)
            lo[right] = np.where(strength[right] == 1, 1, 0)
            hi[right] = np.where(strength[right] == 2, 0, 1)
        else:
            lo[left] = hi[left] = k - 1
            lo[right] = hi[right] = 0
        if middle is not None:
            lo[winner == 0] = hi[winner == 0] = middle
        return lo, hi

    def start_thresholds(self, lo, hi, weight):
        """Thresholds that reproduce the observed tie and 'much better' shares at eta = 0."""
        def half_logit(share):
            share = np.clip(share, 0.02, 0.98)
            return np.log((1 + share) / (1 - share))

        k, total = self.n_categories, max(weight.sum(), 1e-12)
        tie_share = weight[(lo == hi) & (lo == (k - 1) // 2)].sum() / total if self.ties else 0.0
        graded = (lo == hi) & ((lo <= 1) | (hi >= k - 2)) & (lo != (k - 1) // 2 if self.ties else True)
        extreme = (lo == hi) & ((lo == 0) | (hi == k - 1))
        much_share = weight[extreme].sum() / weight[graded].sum() if weight[graded].sum() > 0 else 0.3
        if self.ties and self.strength:
            t1 = half_logit(tie_share)
            t = [t1, max(half_logit(1 - (1 - tie_share) * much_share), t1 + MIN_START_GAP)]
        elif self.ties:
            t = [half_logit(tie_share)]
        elif self.strength:
            t = [half_logit(1 - much_share)]
        else:
            t = []
        return self.free_parameters(np.array(t))

    def free_parameters(self, t):
        """u for ordered thresholds t (0 < t1 < t2): u1 = log t1, u2 = log(t2 - t1)."""
        t = np.asarray(t, dtype=float)
        gaps = np.diff(np.concatenate([[0.0], t]))
        return np.log(np.maximum(gaps, MIN_START_GAP * 1e-3))

    @staticmethod
    def ordered_thresholds(u):
        """t from u, and the Jacobian dt/du (lower triangular: t_j = sum_{i<=j} exp(u_i))."""
        gaps = np.exp(u)
        jacobian = np.tril(np.ones((len(u), len(u)))) * gaps[None, :]
        return np.cumsum(gaps), jacobian


def scale_for(winner, strength):
    """The smallest scale that holds every judgment."""
    return Scale(ties=bool(np.any(winner == 0)), strength=bool(np.any(strength > 0)))


@dataclass
class PairData:
    """Judgments as model rows: difference rows x, outcome intervals, and row weights."""
    x: np.ndarray            # n x p   z_left - z_right
    lo: np.ndarray           # n       lowest category
    hi: np.ndarray           # n       highest category
    weight: np.ndarray       # n       count (times a mixture weight)
    scale: Scale
    inverse: np.ndarray = None  # for collapsed data: row index of each original judgment


def pair_data(dummies, left, right, winner, strength, scale=None, weight=None):
    """Model rows for judgments, one per judgment (see `collapse` for the weighted form)."""
    scale = scale or scale_for(winner, strength)
    lo, hi = scale.intervals(winner, strength)
    x = dummies[left] - dummies[right]
    weight = np.ones(len(left)) if weight is None else np.asarray(weight, dtype=float)
    return PairData(x=x, lo=lo, hi=hi, weight=weight, scale=scale)


def collapse(left, right, lo, hi, weight, dummies, scale):
    """Merge judgments with the same pair and outcome into weighted rows.

    Returns PairData whose ``inverse`` maps each judgment to its row, so per-judgment scores
    are ``scores[inverse]``.
    """
    # One integer per (pair, outcome); counting them is linear time, unlike sorting rows.
    n_variants, k = len(dummies), scale.n_categories
    key = ((np.asarray(left) * n_variants + right) * k + lo) * k + hi
    present = np.bincount(key, minlength=n_variants * n_variants * k * k) > 0
    unique_keys = np.flatnonzero(present)
    lookup = np.cumsum(present) - 1
    inverse = lookup[key]
    unique = np.column_stack([unique_keys // (k * k * n_variants), unique_keys // (k * k) % n_variants,
                              unique_keys // k % k, unique_keys % k])
    summed = np.bincount(inverse, weights=weight, minlength=len(unique))
    return PairData(
        x=dummies[unique[:, 0]] - dummies[unique[:, 1]], lo=unique[:, 2], hi=unique[:, 3],
        weight=summed, scale=scale, inverse=inverse,
    )


@dataclass(frozen=True)
class Penalty:
    """N(0, sd^2) on centred level effects and on the position bias (see the module docstring).

    `factor_columns` holds, per factor, the (start, stop) of its treatment-coded columns; columns
    in none of them (a covariate, an interaction, the position bias) get N(0, sd^2) themselves.
    For a factor of L levels, with beta_0 = 0 for the baseline, sum_l (beta_l - mean beta)^2
    = beta^T (I - 11^T / L) beta over its L - 1 columns: that is the block of the precision.
    """
    sd: float
    factor_columns: tuple[tuple[int, int], ...]

    def precision(self, n):
        """Precision matrix over the first n parameters (effects, extra columns, position bias)."""
        matrix = np.eye(n)
        for start, stop in self.factor_columns:
            size = stop - start
            matrix[start:stop, start:stop] -= np.full((size, size), 1.0 / (size + 1))
        return matrix / self.sd ** 2


@dataclass
class Fit:
    beta: np.ndarray          # treatment-coded effects
    gamma: float              # position (left) bias
    threshold_parameters: np.ndarray  # u, the free parameters of the ordered thresholds
    information: np.ndarray   # observed information in (beta, gamma, u) (negative Hessian incl. prior)
    loglik: float             # log-likelihood without the prior
    converged: bool
    iterations: int
    scale: Scale
    penalty: Penalty | None   # None: the plain maximum-likelihood estimate

    @property
    def params(self):
        return np.concatenate([self.beta, [self.gamma], self.threshold_parameters])

    @property
    def thresholds(self):
        """The ordered thresholds t (0 < t1 < t2), the cut points are A @ t."""
        return Scale.ordered_thresholds(self.threshold_parameters)[0]

    def covariance(self):
        return np.linalg.inv(self.information)

    def std_errors(self):
        return np.sqrt(np.diag(self.covariance()))


def _cdf_pieces(z):
    """F, f, f' of the logistic distribution at z, with the limits at +-infinity."""
    finite = np.isfinite(z)
    big = np.where(finite, z, 0.0)
    cdf = np.where(finite, expit(big), (z > 0).astype(float))
    density = np.where(finite, cdf * (1 - cdf), 0.0)
    slope = density * (1 - 2 * cdf)
    return cdf, density, slope


def _ends(data, params, p):
    """a = c_hi - eta and b = c_(lo-1) - eta for each row, plus the threshold rows used."""
    beta, gamma = params[:p], params[p]
    t, _ = Scale.ordered_thresholds(params[p + 1:])
    A = data.scale.threshold_matrix()
    cuts = np.concatenate([[-np.inf], A @ t if A.shape[1] else np.zeros(A.shape[0]), [np.inf]])
    eta = data.x @ beta + gamma
    # Category k spans (c_{k-1}, c_k]; cuts is padded so cuts[k + 1] is c_k.
    a = cuts[data.hi + 1] - eta
    b = cuts[data.lo] - eta
    padded = np.vstack([np.zeros(A.shape[1]), A, np.zeros(A.shape[1])])
    return a, b, padded[data.hi + 1], padded[data.lo]


def _interval_probability(a, b):
    """F(a) - F(b) computed on the side of the distribution where it does not cancel."""
    flip = b > 0
    upper = np.where(flip, -b, a)
    lower = np.where(flip, -a, b)
    with np.errstate(over="ignore"):
        return expit(upper) - np.where(np.isneginf(lower), 0.0, expit(lower))


def row_loglik(data, params, p):
    a, b, _, _ = _ends(data, params, p)
    with np.errstate(divide="ignore"):
        return np.log(_interval_probability(a, b))


def _prior_precision(p, m, penalty):
    """The prior's precision over (beta, gamma, u): the penalty's block, then the thresholds'."""
    precision = np.zeros((p + 1 + m, p + 1 + m))
    if penalty is not None:
        precision[:p + 1, :p + 1] = penalty.precision(p + 1)
    precision[p + 1:, p + 1:] = np.eye(m) / THRESHOLD_PRIOR_SD ** 2
    return precision


def loglik_grad_hess(data, params, p, penalty=None, want_hessian=True, want_scores=False):
    """Penalised log-likelihood, its gradient and Hessian (FastChat's bt_loss_and_grad shape)
    in (beta, gamma, u).

    The pieces are computed in the thresholds t, where they are simple, and carried to u by the
    chain rule: grad_u = J^T grad_t, H_uu = J^T H_tt J + sum_j grad_t_j d2t_j/du2 (J = dt/du,
    and d2t_j/du_i2 = exp(u_i) for i <= j, the only non-zero second derivatives).
    With ``want_scores`` also returns the per-row score vectors (unweighted, without the prior)
    that the cluster-robust variance needs.
    """
    a, b, A_hi, A_lo = _ends(data, params, p)
    prob = _interval_probability(a, b)
    if np.any(prob <= 0):
        return -np.inf, None, None, None
    _, f_a, df_a = _cdf_pieces(a)
    _, f_b, df_b = _cdf_pieces(b)
    g_a, g_b = f_a / prob, -f_b / prob
    w = data.weight
    x1 = np.column_stack([data.x, np.ones(len(w))])          # columns of beta and gamma
    m = A_hi.shape[1]
    precision = _prior_precision(p, m, penalty)
    value = float(w @ np.log(prob)) - 0.5 * float(params @ precision @ params)
    d_eta = -(g_a + g_b)
    _, jacobian = Scale.ordered_thresholds(params[p + 1:])
    d_t = g_a[:, None] * A_hi + g_b[:, None] * A_lo
    grad_t = d_t.T @ w
    d_u = d_t @ jacobian
    grad = np.concatenate([x1.T @ (w * d_eta), d_u.T @ w]) - precision @ params
    hess = None
    if want_hessian:
        h_aa = df_a / prob - g_a ** 2
        h_bb = -df_b / prob - g_b ** 2
        h_ab = -g_a * g_b
        h_eta = h_aa + h_bb + 2 * h_ab
        hess = np.empty((p + 1 + m, p + 1 + m))
        hess[:p + 1, :p + 1] = (x1 * (w * h_eta)[:, None]).T @ x1
        if m:
            cross = -((h_aa + h_ab)[:, None] * A_hi + (h_ab + h_bb)[:, None] * A_lo)
            hess[:p + 1, p + 1:] = (x1 * w[:, None]).T @ cross @ jacobian
            hess[p + 1:, :p + 1] = hess[:p + 1, p + 1:].T
            tt = ((A_hi * (w * h_aa)[:, None]).T @ A_hi + (A_lo * (w * h_bb)[:, None]).T @ A_lo
                  + (A_hi * (w * h_ab)[:, None]).T @ A_lo + (A_lo * (w * h_ab)[:, None]).T @ A_hi)
            # t_j depends on u_i (i <= j) through exp(u_i), so d2t_j/du_i2 = exp(u_i).
            curvature = np.exp(params[p + 1:]) * np.cumsum(grad_t[::-1])[::-1]
            hess[p + 1:, p + 1:] = jacobian.T @ tt @ jacobian + np.diag(curvature)
        hess -= precision
    scores = np.column_stack([x1 * d_eta[:, None], d_u]) if want_scores else None
    return value, grad, hess, scores


def _ascent_step(hess, grad):
    """Newton's step, damped (Levenberg-Marquardt) until -hess + ridge is positive definite.

    Away from the optimum the objective in u need not be concave; a plain Newton step there can
    point downhill, and step halving alone would then stall."""
    negative = -hess
    ridge = 0.0
    scale = max(float(np.max(np.abs(np.diag(negative)))), 1e-8)
    while True:
        try:
            factor = np.linalg.cholesky(negative + ridge * np.eye(len(grad)))
        except np.linalg.LinAlgError:
            ridge = max(ridge * 10, 1e-8 * scale)
            continue
        return np.linalg.solve(factor.T, np.linalg.solve(factor, grad))


def fit_pairs(data, penalty=None, start=None, tol=1e-9):
    """Maximise the likelihood of PairData (penalised when `penalty` is given) by damped Newton
    steps with step halving.

    Converged means the Newton decrement grad^T step fell below ``tol`` (the objective is within
    ``tol`` of a local maximum of its quadratic model); a fit stopped by MAX_NEWTON_STEPS or by a
    line search that cannot improve the objective says ``converged=False``.
    """
    p = data.x.shape[1]
    m = data.scale.threshold_matrix().shape[1]
    params = np.zeros(p + 1 + m) if start is None else np.array(start, dtype=float)
    if start is None and m:
        # Start thresholds from the marginal tie / strength shares of the rows.
        params[p + 1:] = data.scale.start_thresholds(data.lo, data.hi, data.weight)
    value, grad, hess, _ = loglik_grad_hess(data, params, p, penalty)
    converged = False
    iteration = 0
    for iteration in range(1, MAX_NEWTON_STEPS + 1):
        step = _ascent_step(hess, grad)
        if float(grad @ step) < tol:
            converged = True
            break
        size = 1.0
        while size > 1e-10:
            candidate = params + size * step
            new_value, new_grad, new_hess, _ = loglik_grad_hess(data, candidate, p, penalty)
            if new_value >= value - 1e-12 * abs(value):
                break
            size /= 2
        else:
            break
        params, value, grad, hess = candidate, new_value, new_grad, new_hess
    else:
        # The last accepted step may have landed on the optimum: check it before saying no.
        converged = float(grad @ _ascent_step(hess, grad)) < tol
    loglik = float(data.weight @ row_loglik(data, params, p))
    return Fit(
        beta=params[:p], gamma=float(params[p]), threshold_parameters=params[p + 1:], information=-hess,
        loglik=loglik, converged=converged, iterations=iteration, scale=data.scale, penalty=penalty,
    )


def predict_probabilities(fit, x, position=1.0):
    """Category probabilities for difference rows x (position 1 = the first answer on the left)."""
    A = fit.scale.threshold_matrix()
    cuts = A @ fit.thresholds if A.shape[1] else np.zeros(A.shape[0])
    eta = np.atleast_2d(x) @ fit.beta + position * fit.gamma
    cdf = expit(cuts[None, :] - eta[:, None])
    cdf = np.column_stack([np.zeros(len(eta)), cdf, np.ones(len(eta))])
    return np.diff(cdf, axis=1)
