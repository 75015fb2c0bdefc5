"""Checks around the main fit: what the judged pairs can identify, two-factor interactions,
effects by query category, and how much answer length and markdown structure explain.
"""
from dataclasses import replace
from itertools import combinations

import numpy as np

from .effects import quantile
from .estimate import estimate_effects
from .model import fit_pairs, loglik_grad_hess, pair_data
from .robust import two_way_cluster_covariance

THIN_CATEGORY_JUDGMENTS = 150
THIN_CATEGORY_QUERIES = 5
MAX_INTERACTION_PAIRS = 28     # all pairs of up to 8 two-level factors
SEPARATION_EFFECT = 5.0        # |log-odds| beyond this with the prior active signals separation


def identifiability_notes(variants, dummies, judgments, estimate):
    """Plain-language notes on levels the judged pairs cannot (or can barely) estimate."""
    notes = []
    x = dummies[judgments.left] - dummies[judgments.right]
    labels = variants.effect_labels()
    varies = np.any(x != 0, axis=0)
    for f, (factor, names) in enumerate(zip(variants.factors, variants.levels)):
        columns = variants.factor_columns()[f]
        if len(names) == 1:
            notes.append(f"Factor {factor!r} has a single level, so it has no effect to estimate.")
        elif not np.any(varies[columns]):
            notes.append(f"Factor {factor!r} never differs between the two answers of a judged pair, so the "
                         f"judgments say nothing about it; its estimates are the prior's (0) and are not evidence.")
    unique_rows = np.unique(np.column_stack([x, np.ones(len(x))]), axis=0)
    rank = np.linalg.matrix_rank(unique_rows) if len(unique_rows) else 0
    if varies.any() and rank < x.shape[1] + 1:
        _, _, vt = np.linalg.svd(unique_rows)
        null = np.abs(vt[rank:]).max(axis=0) > 1e-8
        confounded = [f"{f}={level}" for (f, level), hit in zip(labels, null[:-1]) if hit and varies[labels.index((f, level))]]
        if confounded:
            notes.append("These level effects cannot be told apart with the pairs judged (they always change together): "
                         + ", ".join(confounded) + ". Their separate estimates lean on the prior.")
    decided = judgments.winner != 0
    for column, (factor, level) in enumerate(labels):
        involved = (x[:, column] != 0) & decided
        if involved.sum() == 0:
            continue
        agrees = np.sign(judgments.winner[involved]) == np.sign(x[involved, column])
        if agrees.all() or not agrees.any():
            word = "won" if agrees.all() else "lost"
            notes.append(f"{factor}={level} {word} every decided judgment against its baseline (separation): the "
                         f"data only say the effect is large; the reported value ({estimate.beta[column]:+.2f}) is "
                         f"held finite by the N(0, {estimate.fit.prior_sd}^2) prior and is not a measurement.")
        elif abs(estimate.beta[column]) > SEPARATION_EFFECT:
            notes.append(f"{factor}={level} has a very large estimate ({estimate.beta[column]:+.2f}); the data are close "
                         f"to separation and the prior matters.")
    return notes


def interaction_effects(variants, dummies, judgments, settings):
    """Each two-factor interaction of two-level factors that the judged pairs can estimate,
    fitted one at a time next to all main effects (model-based and robust errors as usual)."""
    two_level = [f for f, names in enumerate(variants.levels) if len(names) == 2]
    pairs = list(combinations(two_level, 2))
    if len(pairs) > MAX_INTERACTION_PAIRS:
        return {"skipped": f"{len(pairs)} factor pairs; interactions are fitted only for up to "
                           f"{MAX_INTERACTION_PAIRS} pairs", "effects": []}
    columns = variants.factor_columns()
    results = []
    for f, g in pairs:
        product = dummies[:, columns[f].start] * dummies[:, columns[g].start]
        augmented = np.column_stack([dummies, product])
        x = augmented[judgments.left] - augmented[judgments.right]
        rows = np.unique(np.column_stack([x, np.ones(len(x))]), axis=0)
        if np.linalg.matrix_rank(rows) < augmented.shape[1] + 1:
            results.append({"factors": [variants.factors[f], variants.factors[g]], "estimable": False})
            continue
        estimate = estimate_effects(augmented, judgments, settings)
        se = estimate.std_errors()[-2]   # the interaction column (the last one before position)
        low, high = estimate.beta[-1] - quantile(estimate.df) * se, estimate.beta[-1] + quantile(estimate.df) * se
        results.append({"factors": [variants.factors[f], variants.factors[g]], "estimable": True,
                        "estimate": float(estimate.beta[-1]), "std_error": float(se),
                        "ci_low": float(low), "ci_high": float(high)})
    return {"skipped": None, "effects": results}


def category_effects(variants, dummies, judgments, settings):
    """Main effects fitted separately within each query category, with a thin-category flag."""
    results = []
    for c, name in enumerate(judgments.categories):
        mine = judgments.category == c
        sub = judgments.subset(mine)
        n_queries = len(np.unique(sub.query))
        thin = mine.sum() < THIN_CATEGORY_JUDGMENTS or n_queries < THIN_CATEGORY_QUERIES
        entry = {"category": name, "judgments": int(mine.sum()), "queries": n_queries, "thin": bool(thin),
                 "effects": []}
        try:
            estimate = estimate_effects(dummies, sub, settings)
        except ValueError:
            results.append(entry)
            continue
        se = estimate.std_errors()
        for column, (factor, level) in enumerate(variants.effect_labels()):
            entry["effects"].append({"factor": factor, "level": level, "estimate": float(estimate.beta[column]),
                                     "std_error": float(se[column])})
        results.append(entry)
    return results


def _style_covariates(judgments):
    names, columns = [], []
    if judgments.has_lengths:
        names.append("log length ratio (left/right)")
        columns.append(np.log1p(judgments.left_chars) - np.log1p(judgments.right_chars))
    if judgments.has_markup:
        names.append("markdown structure difference (left - right)")
        columns.append(judgments.left_markup - judgments.right_markup)
    return names, columns


def style_diagnostic(variants, dummies, judgments, estimate, settings):
    """Refit with answer length and markdown structure as judgment-level covariates.

    If a factor works only by making answers longer or more structured, its effect shrinks
    once those differences are in the model; `explained` is that shrinkage as a share.
    """
    names, columns = _style_covariates(judgments)
    if not names:
        return None
    weight = np.ones(len(judgments)) if estimate.careless is None else estimate.careless.weight
    data = pair_data(dummies, judgments.left, judgments.right, judgments.winner, judgments.strength,
                     scale=estimate.fit.scale, weight=weight)
    data = replace(data, x=np.column_stack([data.x] + columns))
    fit = fit_pairs(data, prior_sd=settings.prior_sd)
    p = data.x.shape[1]
    _, _, _, scores = loglik_grad_hess(data, fit.params, p, settings.prior_sd, want_hessian=False, want_scores=True)
    robust = two_way_cluster_covariance(fit.information, scores * weight[:, None], judgments.query, judgments.rater)
    covariance = robust.covariance if estimate.interval_method == "robust" else np.linalg.inv(fit.information)
    se = np.sqrt(np.diag(covariance))
    k = dummies.shape[1]
    covariates = [{"name": name, "estimate": float(fit.beta[k + i]), "std_error": float(se[k + i])}
                  for i, name in enumerate(names)]
    effects = []
    for column, (factor, level) in enumerate(variants.effect_labels()):
        before, after = float(estimate.beta[column]), float(fit.beta[column])
        effects.append({"factor": factor, "level": level, "estimate": before, "adjusted": after,
                        "adjusted_std_error": float(se[column]),
                        "explained": (1 - after / before) if abs(before) > 1e-9 else None})
    return {"covariates": covariates, "effects": effects}
