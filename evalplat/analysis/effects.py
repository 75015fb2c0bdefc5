"""From fitted coefficients to the effects a reader sees: intervals, p-values, win probabilities.

Every non-baseline level gets a Wald interval estimate +- q * SE, where SE and the quantile q
come from the chosen interval method (model-based: normal; robust: Student's t with the
cluster degrees of freedom).  p-values are Holm-adjusted (Holm 1979) over all non-baseline
levels of all factors, which controls the family-wise error without assuming independence.

Win probabilities are the model's shares of outcomes for two answers that differ by a log-odds
difference eta, position-neutral: preferred with probability F(eta - c), the other preferred
with F(-eta - c), and "about the same" otherwise, c being the upper edge of the tie category
(threshold t1; 0 on a scale without ties, where the shares are the Bradley-Terry expit(eta)).
On a tie scale expit(eta) is not a share of anything: it folds about half the ties into the
wins (63% "preferred" where raters preferred it in 43% of judgments and called 35% equal).
"""
import numpy as np
from scipy.special import expit, ndtr, ndtri, stdtr, stdtrit

from .winners_curse import corrected_best


# The distribution functions come from scipy.special, which scipy.stats's norm and t call too
# (identical values): importing scipy.stats took most of a second of every analyze's start.
def quantile(df):
    """Two-sided 95% critical value: normal when df is None, else Student's t."""
    return float(ndtri(0.975)) if df is None else float(stdtrit(df, 0.975))


def p_value(z, df):
    return 2 * float(ndtr(-abs(z)) if df is None else stdtr(df, -abs(z)))


def holm(p_values):
    """Holm step-down adjusted p-values, in the input order."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    m = len(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, (m - rank) * p[index])
        adjusted[index] = min(running, 1.0)
    return adjusted


def tie_edge(fit):
    """c, the upper edge of the tie category of a fit's scale (0 without ties)."""
    return float(fit.thresholds[0]) if fit.scale.ties else 0.0


def outcome_shares(eta, edge):
    """(preferred, about the same, the other preferred) for a log-odds difference eta."""
    win, loss = float(expit(eta - edge)), float(expit(-eta - edge))
    return win, max(1.0 - win - loss, 0.0), loss


def effect_rows(variants, beta, model_se, robust_se, interval_se, df, edge=0.0):
    """One dict per level (baselines included with estimate 0), in factor order; `edge` is
    `tie_edge(fit)`, which the win, tie and loss probabilities need."""
    q = quantile(df)
    rows, column = [], 0
    even_win, even_tie, even_loss = outcome_shares(0.0, edge)
    for factor, names in zip(variants.factors, variants.levels):
        rows.append({"factor": factor, "level": names[0], "baseline": True, "estimate": 0.0,
                     "std_error": 0.0, "robust_std_error": 0.0, "ci_low": 0.0, "ci_high": 0.0,
                     "p_value": None, "p_holm": None, "win_probability": even_win,
                     "win_low": even_win, "win_high": even_win, "tie_probability": even_tie,
                     "loss_probability": even_loss})
        for level in names[1:]:
            estimate, se = float(beta[column]), float(interval_se[column])
            low, high = estimate - q * se, estimate + q * se
            win, tie, loss = outcome_shares(estimate, edge)
            rows.append({
                "factor": factor, "level": level, "baseline": False, "estimate": estimate,
                "std_error": float(model_se[column]),
                "robust_std_error": None if robust_se is None else float(robust_se[column]),
                "ci_low": low, "ci_high": high,
                "p_value": float(p_value(estimate / se, df)) if se > 0 else 1.0,
                "win_probability": win, "tie_probability": tie, "loss_probability": loss,
                "win_low": outcome_shares(low, edge)[0], "win_high": outcome_shares(high, edge)[0],
            })
            column += 1
    tested = [row for row in rows if not row["baseline"]]
    for row, adjusted in zip(tested, holm([row["p_value"] for row in tested]) if tested else []):
        row["p_holm"] = float(adjusted)
    return rows


def best_combination(variants, beta, covariance, df, edge=0.0):
    """The level with the highest estimate in each factor, and its predicted win, tie and loss
    rates against the all-baseline variant (position-neutral), with a delta-method interval on
    the log-odds scale.  The maximum of estimates is optimistic (winner's curse): the same
    combination's effect corrected for having been picked (winners_curse.corrected_best) is
    given beside it."""

    chosen, contrast, column = {}, np.zeros(len(beta)), 0
    for factor, names in zip(variants.factors, variants.levels):
        values = np.concatenate([[0.0], beta[column:column + len(names) - 1]])
        best = int(np.argmax(values))
        chosen[factor] = names[best]
        if best:
            contrast[column + best - 1] = 1.0
        column += len(names) - 1
    estimate = float(contrast @ beta)
    se = float(np.sqrt(contrast @ covariance @ contrast))
    q = quantile(df)
    matches = [variants.ids[v] for v in range(len(variants.ids))
               if variants.level_names(v) == chosen]
    win, tie, loss = outcome_shares(estimate, edge)
    return {
        "levels": chosen, "log_odds": estimate, "std_error": se,
        "win_rate": win, "win_low": outcome_shares(estimate - q * se, edge)[0],
        "win_high": outcome_shares(estimate + q * se, edge)[0], "tie_rate": tie, "loss_rate": loss,
        "variant": matches[0] if matches else None,
        **_corrected(corrected_best(beta, covariance, variants.n_levels), edge),
    }


def _corrected(corrected, edge):
    return {"corrected_log_odds": corrected.corrected, "selection_bias": corrected.bias,
            "shrunken_log_odds": corrected.shrunken, "corrected_win_rate": outcome_shares(corrected.corrected, edge)[0]}
