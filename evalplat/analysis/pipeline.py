"""The whole analysis of one data set, as one typed `AnalysisResult` (effects.json is its JSON).

Order: gold items are scored and set aside; raters failing the gold rule are excluded (and
listed); the model is fitted with careless raters as a mixture; then effects, the best
combination, and the diagnostics around them.
"""
import numpy as np

from designs.aliasing import alias_report

from . import agreement, diagnostics
from .effects import best_combination, effect_rows, quantile, tie_edge
from .estimate import MIN_CLUSTERS, Settings, estimate_effects, prepare
from .result import (Agreement, Aliasing, AnalysisResult, BestCombination, BothBad, CarelessSummary,
                     DesignContext, Effect, ExcludedRater, Factor, GoldSummary, PenaltySummary, PositionBias,
                     ScaleInfo, VariantLevels)
from .robustness import robustness_table
from .words import plural

ROBUST_DETAIL = ("two-way cluster-robust standard errors by query and rater (Cameron, Gelbach and Miller "
                 "2011) with Student's t on {df} degrees of freedom")
MODEL_DETAIL = "model-based standard errors from the observed information, normal quantiles"


def excluded_raters(judgments, settings):
    """Raters set aside before the fit: gold accuracy below the rule, or flagged too fast to have
    read the answers (the rating pages' rule, carried by the judgments); the rule is reported with them."""
    gold = agreement.gold_summary(judgments)
    excluded = {}
    for name, record in gold["by_rater"].items():
        accuracy = record["correct"] / record["items"]
        if record["items"] >= settings.gold_min_items and accuracy < settings.gold_min_accuracy:
            excluded[name] = ExcludedRater(rater=name, gold_items=record["items"], gold_accuracy=accuracy)
    if judgments.too_fast is not None:
        for code in np.unique(judgments.rater[judgments.too_fast & (judgments.rater >= 0)]):
            name = judgments.raters[code]
            record = gold["by_rater"].get(name)
            excluded.setdefault(name, ExcludedRater(
                rater=name, gold_items=record["items"] if record else 0,
                gold_accuracy=record["correct"] / record["items"] if record else None, reason="fast"))
    return gold, list(excluded.values())


EXCLUSION_RULE = ("raters with at least {items} gold items and gold accuracy below {accuracy:.0%} are excluded, "
                  "and so are raters the rating pages flagged too fast to have read the answers")


def aliasing(variants):
    """What the variants confound: the alias report of designs.aliasing, computed from the runs
    themselves, so an offline analysis gets it too."""
    report = alias_report(variants.runs, variants.n_levels, list(variants.factors))
    return Aliasing(report=report.as_dict(), lines=list(report.lines()))


def _position_bias(estimate):
    p = estimate.p
    model_se = float(np.sqrt(estimate.model_covariance[p, p]))
    robust_se = float(np.sqrt(estimate.robust.covariance[p, p]))
    se = robust_se if estimate.interval_method == "robust" else model_se
    q = quantile(estimate.df)
    return PositionBias(estimate=float(estimate.gamma), std_error=model_se, robust_std_error=robust_se,
                        ci_low=float(estimate.gamma - q * se), ci_high=float(estimate.gamma + q * se))


def _careless_summary(estimate, judgments):
    if estimate.careless is None:
        reason = ("not fitted: rater ids are missing" if not judgments.has_raters
                  else "not fitted: fewer than two raters" if len(judgments.raters) < 2 else "switched off")
        return CarelessSummary(fitted=False, reason=reason)
    careless = estimate.careless
    return CarelessSummary(
        fitted=True, share=careless.share, iterations=careless.iterations,
        expected_careless_raters=float(careless.rater_careless.sum()),
        clicker_distribution=dict(zip(estimate.fit.scale.category_names, map(float, careless.clicker_distribution))),
        raters=dict(zip(judgments.raters, careless.rater_careless.tolist())),
    )


def interval_note(estimate, settings):
    """Which standard errors the intervals use and why, true of the cluster counts beside it."""
    robust = estimate.robust
    clusters = (f"{plural(robust.n_queries, 'query', 'queries')} and "
                f"{plural(robust.n_raters, 'rater')}" if robust.n_raters else
                f"{plural(robust.n_queries, 'query', 'queries')} (no rater ids, so clustered by query only)")
    if estimate.interval_method == "robust":
        return (f"Intervals use the cluster-robust errors ({clusters}): judgments share queries, answers and "
                f"raters, and these errors allow for that, where the model-based ones assume every judgment is "
                f"independent.")
    if settings.interval == "model":
        return (f"Intervals use the model-based errors, as asked (--interval model); they assume every judgment "
                f"is independent, which judgments that share queries, answers and raters are not ({clusters}).")
    return (f"Intervals use the model-based errors: cluster-robust errors need at least {MIN_CLUSTERS} clusters "
            f"of each kind to be trusted, and these data have {clusters}. With so few clusters the robust "
            f"errors are themselves too noisy (they can come out near zero), so they are shown for reference "
            f"only; the model-based errors assume independent judgments and may be too small.")


def _distinct_outcomes(judgments):
    """One judgment per distinct (left, right, winner): all that the identifiability checks read."""
    n_variants = int(max(judgments.left.max(initial=0), judgments.right.max(initial=0))) + 1
    key = (judgments.left * n_variants + judgments.right) * 3 + judgments.winner + 1
    return judgments.subset(np.sort(np.unique(key, return_index=True)[1]))


def penalty_summary(variants, estimate, settings):
    separating = []
    if estimate.separation.separated:
        direction = estimate.separation.direction
        separating = [f"{f}={level}" for (f, level), d in zip(variants.effect_labels(), direction) if d != 0]
        if direction[-1] != 0:
            separating.append("position bias")
    return PenaltySummary(setting=settings.penalty, applied=estimate.fit.penalty is not None,
                          reason=estimate.penalty_reason, sd=settings.prior_sd, separating=separating)


def best_tested_variant(variants, beta):
    """The run with the highest estimated utility (the best combination may not be a run)."""
    return variants.ids[int(np.argmax(variants.dummies() @ beta))]


def run_analysis(variants, judgments, settings=Settings(), design=None, rng=None, detail=True):
    """Analyse judgments of variants.

    Parameters
    ----------
    variants : tables.VariantTable
    judgments : tables.Judgments
        Every judgment, gold items included (they are scored and set aside here).
    settings : estimate.Settings
    design : result.DesignContext, optional
        Context for the report (name, title, question, array, foldover).
    rng : numpy.random.Generator, optional
        For the simulated perfect raters of the agreement ceiling (default seed 0).
    detail : bool
        False skips the slower diagnostics (interactions, categories, robustness).

    Returns
    -------
    result.AnalysisResult
        Its ``as_json()`` is effects.json.
    """
    if len(judgments.criteria) > 1:  # one fit of several questions' answers would mean nothing
        raise ValueError("these judgments answer several criteria: analyse them with evalplat.analysis.criteria")
    rng = rng or np.random.default_rng(0)
    dummies = variants.dummies()
    gold, excluded = excluded_raters(judgments, settings)
    excluded_names = {row.rater for row in excluded}
    excluded_codes = [r for r, name in enumerate(judgments.raters) if name in excluded_names]
    kept = judgments.subset(~np.isin(judgments.rater, excluded_codes))
    used = prepare(kept, settings)
    if len(used) == 0:
        raise ValueError("no judgments left to analyse after setting aside gold items and excluded raters")
    estimate = estimate_effects(dummies, used, settings, factor_columns=variants.factor_columns())
    df = estimate.df
    effects = [Effect(**row) for row in effect_rows(
        variants, estimate.beta, estimate.std_errors("model")[:-1], estimate.std_errors("robust")[:-1],
        estimate.std_errors()[:-1], df, edge=tie_edge(estimate.fit))]
    scale = estimate.fit.scale
    keys, values = agreement.oriented_values(used, scale)
    units = agreement.item_codes(keys)
    sample = diagnostics.DiagnosticSample.of(used, estimate)
    notes = diagnostics.identifiability_notes(variants, dummies, _distinct_outcomes(used), estimate)
    if not estimate.fit.converged:
        notes.append(f"The fit did not converge (it stopped after {estimate.fit.iterations} steps without reaching "
                     f"the maximum), so these estimates are not the model's answer; do not rely on them.")
    return AnalysisResult(
        effects=effects,
        interval_method=estimate.interval_method,
        interval_detail=ROBUST_DETAIL.format(df=df) if estimate.interval_method == "robust" else MODEL_DETAIL,
        position_bias=_position_bias(estimate),
        n_judgments=len(used),
        n_judgments_total=len(judgments),
        n_queries=int(len(np.unique(used.query))),
        n_raters=int(len(np.unique(used.rater[used.rater >= 0]))),
        n_variants=len(variants.ids),
        factors=[Factor(name=f, levels=list(levels)) for f, levels in zip(variants.factors, variants.levels)],
        variants=[VariantLevels(variant=v, levels=variants.level_names(i)) for i, v in enumerate(variants.ids)],
        scale=ScaleInfo(categories=scale.category_names, thresholds=[float(t) for t in estimate.fit.thresholds]),
        converged=bool(estimate.fit.converged),
        prior_sd=settings.prior_sd if estimate.fit.penalty is not None else None,
        penalty=penalty_summary(variants, estimate, settings),
        settings=settings,
        design=design or DesignContext(),
        best_combination=BestCombination(**best_combination(variants, estimate.beta, estimate.covariance[:-1, :-1], df,
                                                          edge=tie_edge(estimate.fit))),
        careless=_careless_summary(estimate, used),
        gold=GoldSummary(items=gold["items"], accuracy=gold["accuracy"]),
        exclusion_rule=EXCLUSION_RULE.format(items=settings.gold_min_items, accuracy=settings.gold_min_accuracy),
        excluded_raters=excluded,
        both_bad=BothBad(judgments=int(judgments.both_bad.sum()), treated_as=settings.both_bad),
        notes=notes,
        aliasing=aliasing(variants),
        agreement=Agreement(
            alpha_ordinal=agreement.krippendorff_alpha_ordinal(units, values, scale.n_categories),
            alpha_perfect_raters=agreement.perfect_rater_alpha(estimate.fit, dummies, used, rng, units=units),
            multiply_rated_items=int(np.sum(np.bincount(units) >= 2)),
        ),
        raters=agreement.rater_table(used, dummies, estimate, estimate.careless, units=units),
        style=diagnostics.style_diagnostic(variants, dummies, sample, estimate, settings),
        best_tested_variant=best_tested_variant(variants, estimate.beta),
        interval_note=interval_note(estimate, settings),
        interval_df=df,
        interactions=(diagnostics.interactions(variants, dummies, used, settings, estimate.std_errors()[:-1])
                      if detail else None),
        by_category=diagnostics.category_effects(variants, dummies, used, sample, estimate, settings) if detail else None,
        robustness=robustness_table(dummies, used, estimate, effects, settings) if detail else None,
    )
