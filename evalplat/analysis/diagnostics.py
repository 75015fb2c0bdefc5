"""Checks around the main fit: what the judged pairs can identify, two-factor interactions,
effects by query category, and what answer length and markdown structure account for.
"""
from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np

from .effects import quantile
from .estimate import MIN_CLUSTERS, estimate_effects
from .model import PairData, collapse, fit_pairs, loglik_grad_hess
from .result import (CategoryEffect, CategoryEffects, InteractionRow, Interactions, StyleCovariate, StyleDiagnostic,
                     StyleEffect)
from .robust import two_way_cluster_covariance

THIN_CATEGORY_JUDGMENTS = 150
THIN_CATEGORY_QUERIES = 5
MAX_INTERACTION_PAIRS = 28     # all pairs of up to 8 two-level factors
# Below this share of a main effect's information (SE 5x a main effect's) an interaction's
# interval says nothing; it is reported as not estimable with the schedule.
MIN_INTERACTION_INFORMATION = 1 / 25
SEPARATION_EFFECT = 5.0        # |log-odds| beyond this with the prior active signals separation
# Beyond this growth of an effect's SE once length/format are in the model, the factor and the
# covariates move together too closely for a share "explained" to mean anything.
STYLE_SE_INFLATION = 2.0
DIAGNOSTIC_SAMPLE = 100_000   # judgments the refitting diagnostics use at most (see DiagnosticSample)


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
                         f"judgments say nothing about it; its estimates are the penalty's (0) and are not evidence.")
    unique_rows = np.unique(np.column_stack([x, np.ones(len(x))]), axis=0)
    rank = np.linalg.matrix_rank(unique_rows) if len(unique_rows) else 0
    if varies.any() and rank < x.shape[1] + 1:
        _, _, vt = np.linalg.svd(unique_rows)
        null = np.abs(vt[rank:]).max(axis=0) > 1e-8
        confounded = [f"{f}={level}" for (f, level), hit in zip(labels, null[:-1]) if hit and varies[labels.index((f, level))]]
        if confounded:
            notes.append("These level effects cannot be told apart with the pairs judged (they always change together): "
                         + ", ".join(confounded) + ". Their separate estimates lean on the penalty.")
    separating = estimate.separation.direction if estimate.separation.separated else np.zeros(x.shape[1] + 1)
    for column, (factor, level) in enumerate(labels):
        if separating[column] != 0:
            notes.append(f"{factor}={level} is part of a separation (no judgment goes against it, ties aside): the "
                         f"data only say its effect is large; the reported value ({estimate.beta[column]:+.2f}) is "
                         f"held finite by the penalty and is not a measurement.")
        elif abs(estimate.beta[column]) > SEPARATION_EFFECT:
            leans = "the penalty matters" if estimate.fit.penalty is not None else "its interval is wide"
            notes.append(f"{factor}={level} has a very large estimate ({estimate.beta[column]:+.2f}); the data are close "
                         f"to separation and {leans}.")
    return notes


def interaction_effects(variants, dummies, judgments, settings, main_se=None):
    """Each two-factor interaction of two-level factors, fitted one at a time next to all main
    effects (model-based and robust errors as usual), with the information the judged pairs
    carry about it: (typical main-effect SE / its SE)^2.

    A pair that differs in both factors of a mirror pair says nothing about their interaction
    (its interaction column is the mean of the two main-effect columns), so a schedule of
    mirror pairs leaves interactions all but unseen; below MIN_INTERACTION_INFORMATION of a main
    effect's information the interaction is reported as not estimable with this schedule
    rather than with an estimate whose interval spans everything."""
    two_level = [f for f, names in enumerate(variants.levels) if len(names) == 2]
    pairs = list(combinations(two_level, 2))
    if not pairs:
        return {"skipped": ("No interactions are fitted: they are fitted between two-level factors, and this design "
                            f"has {len(two_level) or 'no'} two-level factor{'' if len(two_level) == 1 else 's'}."),
                "effects": []}
    if len(pairs) > MAX_INTERACTION_PAIRS:
        return {"skipped": f"{len(pairs)} factor pairs; interactions are fitted only for up to "
                           f"{MAX_INTERACTION_PAIRS} pairs", "effects": []}
    columns = variants.factor_columns()
    typical = float(np.median(main_se)) if main_se is not None and len(main_se) else None
    results = []
    for f, g in pairs:
        names = [variants.factors[f], variants.factors[g]]
        product = dummies[:, columns[f].start] * dummies[:, columns[g].start]
        augmented = np.column_stack([dummies, product])
        x = augmented[judgments.left] - augmented[judgments.right]
        rows = np.unique(np.column_stack([x, np.ones(len(x))]), axis=0)
        if np.linalg.matrix_rank(rows) < augmented.shape[1] + 1:
            results.append({"factors": names, "estimable": False,
                            "reason": "not estimable with this schedule: no judged pair tells it apart from the "
                                      "main effects"})
            continue
        estimate = estimate_effects(augmented, judgments, settings, factor_columns=columns)
        se = estimate.std_errors()[-2]   # the interaction column (the last one before position)
        information = (typical / se) ** 2 if typical else None
        if information is not None and information < MIN_INTERACTION_INFORMATION:
            results.append({"factors": names, "estimable": False, "information": float(information),
                            "reason": f"not estimable with this schedule: the judged pairs carry "
                                      f"1/{1 / information:.0f} of a main effect's information about it "
                                      f"(SE {se:.2f}); mirror pairs say nothing about interactions"})
            continue
        low, high = estimate.beta[-1] - quantile(estimate.df) * se, estimate.beta[-1] + quantile(estimate.df) * se
        results.append({"factors": names, "estimable": True,
                        "estimate": float(estimate.beta[-1]), "std_error": float(se),
                        "ci_low": float(low), "ci_high": float(high),
                        "information": None if information is None else float(information)})
    return {"skipped": None, "effects": results}


def interactions(variants, dummies, judgments, settings, main_se=None):
    """`interaction_effects` as the result's typed `Interactions`."""
    found = interaction_effects(variants, dummies, judgments, settings, main_se)
    return Interactions(skipped=found["skipped"], effects=[InteractionRow(**row) for row in found["effects"]])


def _fixed_weight_fit(rows, judgments, weight, estimate, interval_method, start):
    """Fit `rows` with each judgment's random-clicker weight held at the main fit's value.

    The share of clickers is a property of raters, estimated once from all their judgments, so
    the checks around the main fit reuse it instead of re-running the clicker EM on each subset.
    Returns the fit and the standard errors of `interval_method` ("robust" or "model").
    """
    penalty = estimate.penalty_for(rows)
    fit = fit_pairs(rows, penalty=penalty, start=start)
    if interval_method == "model":
        return fit, np.sqrt(np.diag(np.linalg.inv(fit.information)))
    _, _, _, scores = loglik_grad_hess(rows, fit.params, rows.x.shape[1], penalty, want_hessian=False,
                                       want_scores=True)
    if rows.inverse is not None:
        scores = scores[rows.inverse]
    robust = two_way_cluster_covariance(fit.information, scores * weight[:, None], judgments.query, judgments.rater)
    return fit, np.sqrt(np.diag(robust.covariance))


@dataclass(frozen=True)
class DiagnosticSample:
    """The judgments the refitting diagnostics use: all of them up to DIAGNOSTIC_SAMPLE, else a
    random sample of that size (fixed seed), with their random-clicker weights and outcome
    intervals.  The effects themselves always use every judgment; a diagnostic on a hundred
    thousand judgments is as clear as on millions (its SEs are a few hundredths), and costs a
    fraction."""
    judgments: object           # tables.Judgments
    weight: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    total: int                  # judgments before sampling

    @property
    def sampled(self):
        return len(self.judgments) < self.total

    @classmethod
    def of(cls, judgments, estimate, limit=None, seed=0):
        limit = limit or DIAGNOSTIC_SAMPLE
        weight = np.ones(len(judgments)) if estimate.careless is None else estimate.careless.weight
        if len(judgments) > limit:
            chosen = np.sort(np.random.default_rng(seed).choice(len(judgments), limit, replace=False))
            sample, weight = judgments.subset(chosen), weight[chosen]
        else:
            sample = judgments
        lo, hi = estimate.fit.scale.intervals(sample.winner, sample.strength)
        return cls(judgments=sample, weight=weight, lo=lo, hi=hi, total=len(judgments))

    def subset(self, mask):
        return replace(self, judgments=self.judgments.subset(mask), weight=self.weight[mask], lo=self.lo[mask],
                       hi=self.hi[mask])


def _interval_method_for(judgments, settings):
    """The main analysis's rule applied to a subset: robust errors need enough clusters of each kind."""
    if settings.interval != "auto":
        return settings.interval
    n_queries = len(np.unique(judgments.query))
    n_raters = len(np.unique(judgments.rater[judgments.rater >= 0]))
    return "robust" if n_queries >= MIN_CLUSTERS and (n_raters == 0 or n_raters >= MIN_CLUSTERS) else "model"


def category_effects(variants, dummies, judgments, sample, estimate, settings):
    """Main effects fitted separately within each query category, with a thin-category flag
    (counts from all `judgments`, fits on the `DiagnosticSample`; random-clicker weights from the
    main fit; errors by the main analysis's rule)."""
    results = []
    scale = estimate.fit.scale
    for c, name in enumerate(judgments.categories):
        mine = judgments.category == c
        n_queries = len(np.unique(judgments.query[mine]))
        thin = mine.sum() < THIN_CATEGORY_JUDGMENTS or n_queries < THIN_CATEGORY_QUERIES
        part = sample.subset(sample.judgments.category == c)
        sub = part.judgments
        effects = []
        if len(sub):
            rows = collapse(sub.left, sub.right, part.lo, part.hi, part.weight, dummies, scale)
            fit, se = _fixed_weight_fit(rows, sub, part.weight, estimate, _interval_method_for(sub, settings),
                                        start=estimate.fit.params)
            effects = [CategoryEffect(factor=factor, level=level, estimate=float(fit.beta[column]),
                                      std_error=float(se[column]))
                       for column, (factor, level) in enumerate(variants.effect_labels())]
        results.append(CategoryEffects(category=name, judgments=int(mine.sum()), queries=n_queries,
                                       thin=bool(thin), effects=effects, fitted_judgments=len(sub)))
    return results


def _style_covariates(judgments):
    """Covariates that vary across judged pairs, and the ones left out because they never do."""
    candidates = []
    if judgments.has_lengths:
        candidates.append(("log length ratio (left/right)", "answer length",
                           np.log1p(judgments.left_chars) - np.log1p(judgments.right_chars)))
    if judgments.has_markup:
        candidates.append(("markdown structure difference (left - right)", "markdown structure",
                           judgments.left_markup - judgments.right_markup))
    names, columns, left_out = [], [], []
    for name, what, column in candidates:
        if np.ptp(column) == 0:
            left_out.append(f"{what} never differs between the two answers of a judged pair, so it is not fitted")
        else:
            names.append(name)
            columns.append(column)
    return names, columns, left_out


def _distinct_rows(columns):
    """First row of each distinct combination of the columns' values, and each row's combination.

    Codes are combined one column at a time and made dense again after each (hash-based
    factorising), so the combined key never overflows however many distinct values there are."""
    import pandas as pd

    key = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        codes, uniques = pd.factorize(column)
        key, _ = pd.factorize(key * len(uniques) + codes)
    inverse = np.asarray(key, dtype=np.int64)
    # factorize numbers combinations in order of first appearance, so a row is a first exactly
    # where its code exceeds every code before it.
    seen = np.maximum.accumulate(inverse)
    first = np.flatnonzero(np.concatenate([[True], inverse[1:] > seen[:-1]])) if len(inverse) else inverse
    return first, inverse


def _explained(before, before_se, after, after_se):
    """The share of an effect that length/format account for, or None and the reason it means nothing.

    1 - after/before is a share only when the unadjusted effect is clearly not zero, the adjusted
    one keeps its sign and is no larger, and the adjustment leaves the effect estimable: when a
    factor itself sets the length (a max_tokens factor), its effect and length's cannot be told
    apart, its SE balloons and the ratio can be anything (it was -961% and 2335%).
    """
    if after_se > STYLE_SE_INFLATION * before_se:
        return None, (f"this factor largely sets the length/format (its SE grows {after_se / before_se:.1f}x once "
                      f"they are in the model), so its effect cannot be split into a length/format part and the rest")
    if abs(before) < 2 * before_se:
        return None, "the unadjusted effect is not clearly different from zero, so a share of it means nothing"
    share = 1 - after / before
    if share > 1:
        return None, "at equal length/format the effect reverses: length/format more than account for it"
    if share < 0:
        if abs(after - before) < before_se / 2:
            return 0.0, None          # unchanged within noise: nothing explained
        return None, "at equal length/format the effect is larger: length/format hide part of it"
    return float(share), None


def style_diagnostic(variants, dummies, sample, estimate, settings):
    """Refit with answer length and markdown structure as judgment-level covariates.

    Reports each factor's effect without and with them (at equal length and structure), both
    fitted on the same `DiagnosticSample` the same way, the covariates' own effects, and a share
    "explained" only where `_explained` finds one.
    """
    judgments = sample.judgments
    names, columns, left_out = _style_covariates(judgments)
    if not names:
        return StyleDiagnostic(covariates=[], effects=[], left_out=left_out) if left_out else None
    scale, weight, lo, hi = estimate.fit.scale, sample.weight, sample.lo, sample.hi
    method = estimate.interval_method
    plain, plain_se = _fixed_weight_fit(collapse(judgments.left, judgments.right, lo, hi, weight, dummies, scale),
                                        judgments, weight, estimate, method, start=estimate.fit.params)
    # Judgments with the same pair, outcome and covariates are one weighted row, as in the main fit.
    first, inverse = _distinct_rows([judgments.left, judgments.right, lo, hi] + columns)
    data = PairData(x=np.column_stack([dummies[judgments.left[first]] - dummies[judgments.right[first]]]
                                      + [column[first] for column in columns]),
                    lo=lo[first], hi=hi[first], weight=np.bincount(inverse, weights=weight, minlength=len(first)),
                    scale=scale, inverse=inverse)
    k = dummies.shape[1]
    start = np.concatenate([plain.beta, np.zeros(len(names)), plain.params[k:]])
    fit, se = _fixed_weight_fit(data, judgments, weight, estimate, method, start=start)
    covariates = [StyleCovariate(name=name, estimate=float(fit.beta[k + i]), std_error=float(se[k + i]))
                  for i, name in enumerate(names)]
    effects = []
    for column, (factor, level) in enumerate(variants.effect_labels()):
        before, after = float(plain.beta[column]), float(fit.beta[column])
        explained, reason = _explained(before, float(plain_se[column]), after, float(se[column]))
        effects.append(StyleEffect(factor=factor, level=level, estimate=before, adjusted=after,
                                   adjusted_std_error=float(se[column]), explained=explained,
                                   std_error=float(plain_se[column]), explained_reason=reason))
    return StyleDiagnostic(covariates=covariates, effects=effects, left_out=left_out,
                           fitted_judgments=len(judgments), judgments=sample.total)
