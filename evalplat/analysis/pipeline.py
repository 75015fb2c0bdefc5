"""The whole analysis of one data set, as one JSON-able dict (effects.json is this dict).

Order: gold items are scored and set aside; raters failing the gold rule are excluded (and
listed); the model is fitted with careless raters as a mixture; then effects, the best
combination, and the diagnostics around them.
"""
from dataclasses import asdict

import numpy as np

from designs.aliasing import alias_report

from . import agreement, diagnostics
from .effects import best_combination, effect_rows, quantile
from .estimate import Settings, estimate_effects, prepare
from .robustness import robustness_table

ROBUST_DETAIL = ("two-way cluster-robust standard errors by query and rater (Cameron, Gelbach and Miller "
                 "2011) with Student's t on {df} degrees of freedom")
MODEL_DETAIL = "model-based standard errors from the observed information, normal quantiles"


def excluded_raters(judgments, settings):
    """Raters whose gold accuracy breaks the rule; the rule is reported with them."""
    gold = agreement.gold_summary(judgments)
    excluded = []
    for name, record in gold["by_rater"].items():
        accuracy = record["correct"] / record["items"]
        if record["items"] >= settings.gold_min_items and accuracy < settings.gold_min_accuracy:
            excluded.append({"rater": name, "gold_items": record["items"], "gold_accuracy": accuracy})
    return gold, excluded


def aliasing(variants):
    """What the variants confound: the alias report of designs.aliasing, computed from the runs
    themselves, so an offline analysis gets it too."""
    report = alias_report(variants.runs, variants.n_levels, list(variants.factors))
    return {"report": report.as_dict(), "lines": list(report.lines())}


def _position_bias(estimate):
    p = estimate.p
    model_se = float(np.sqrt(estimate.model_covariance[p, p]))
    robust_se = float(np.sqrt(estimate.robust.covariance[p, p]))
    se = robust_se if estimate.interval_method == "robust" else model_se
    q = quantile(estimate.df)
    return {"estimate": float(estimate.gamma), "std_error": model_se, "robust_std_error": robust_se,
            "ci_low": float(estimate.gamma - q * se), "ci_high": float(estimate.gamma + q * se)}


def _careless_summary(estimate, judgments):
    if estimate.careless is None:
        reason = ("not fitted: rater ids are missing" if not judgments.has_raters
                  else "not fitted: fewer than two raters" if len(judgments.raters) < 2 else "switched off")
        return {"fitted": False, "reason": reason}
    careless = estimate.careless
    return {
        "fitted": True, "share": careless.share, "iterations": careless.iterations,
        "expected_careless_raters": float(careless.rater_careless.sum()),
        "clicker_distribution": dict(zip(estimate.fit.scale.category_names, map(float, careless.clicker_distribution))),
        "raters": {name: float(careless.rater_careless[r]) for r, name in enumerate(judgments.raters)},
    }


def run_analysis(variants, judgments, settings=Settings(), design=None, rng=None, detail=True):
    """Analyse judgments of variants; returns the effects.json dict.

    `design` is optional context for the report (name, title, question, array, foldover).
    `detail=False` skips the slower diagnostics (interactions, categories, robustness).
    """
    rng = rng or np.random.default_rng(0)
    dummies = variants.dummies()
    gold, excluded = excluded_raters(judgments, settings)
    excluded_names = {row["rater"] for row in excluded}
    excluded_codes = [r for r, name in enumerate(judgments.raters) if name in excluded_names]
    kept = judgments.subset(~np.isin(judgments.rater, excluded_codes))
    used = prepare(kept, settings)
    if len(used) == 0:
        raise ValueError("no judgments left to analyse after setting aside gold items and excluded raters")
    estimate = estimate_effects(dummies, used, settings)
    df = estimate.df
    effects = effect_rows(variants, estimate.beta, estimate.std_errors("model")[:-1],
                          estimate.std_errors("robust")[:-1], estimate.std_errors()[:-1], df)
    scale = estimate.fit.scale
    keys, values = agreement.oriented_values(used, scale)
    units = agreement.item_codes(keys)
    result = {
        "effects": effects,
        "interval_method": estimate.interval_method,
        "interval_detail": ROBUST_DETAIL.format(df=df) if estimate.interval_method == "robust" else MODEL_DETAIL,
        "position_bias": _position_bias(estimate),
        "n_judgments": len(used),
        "n_judgments_total": len(judgments),
        "n_queries": int(len(np.unique(used.query))),
        "n_raters": int(len(np.unique(used.rater[used.rater >= 0]))),
        "n_variants": len(variants.ids),
        "factors": [{"name": f, "levels": list(levels)} for f, levels in zip(variants.factors, variants.levels)],
        "variants": [{"variant": v, **variants.level_names(i)} for i, v in enumerate(variants.ids)],
        "scale": {"categories": scale.category_names, "thresholds": [float(t) for t in estimate.fit.thresholds]},
        "converged": bool(estimate.fit.converged),
        "prior_sd": settings.prior_sd,
        "settings": asdict(settings),
        "design": design or {},
        "best_combination": best_combination(variants, estimate.beta, estimate.covariance[:-1, :-1], df),
        "careless": _careless_summary(estimate, used),
        "gold": {"items": gold["items"], "accuracy": gold["accuracy"]},
        "exclusion_rule": (f"raters with at least {settings.gold_min_items} gold items and gold accuracy below "
                           f"{settings.gold_min_accuracy:.0%} are excluded"),
        "excluded_raters": excluded,
        "both_bad": {"judgments": int(judgments.both_bad.sum()), "treated_as": settings.both_bad},
        "notes": diagnostics.identifiability_notes(variants, dummies, used, estimate),
        "aliasing": aliasing(variants),
        "agreement": {
            "alpha_ordinal": agreement.krippendorff_alpha_ordinal(units, values, scale.n_categories),
            "alpha_perfect_raters": agreement.perfect_rater_alpha(estimate.fit, dummies, used, rng),
            "multiply_rated_items": int(np.sum(np.bincount(units) >= 2)),
        },
        "raters": agreement.rater_table(used, dummies, estimate, estimate.careless),
        "style": diagnostics.style_diagnostic(variants, dummies, used, estimate, settings),
    }
    if not estimate.fit.converged:
        result["notes"].append("The fit did not fully converge; treat the numbers with care.")
    if detail:
        result["interactions"] = diagnostics.interaction_effects(variants, dummies, used, settings)
        result["by_category"] = diagnostics.category_effects(variants, dummies, used, settings)
        result["robustness"] = robustness_table(variants, dummies, used, estimate, effects, settings)
    return result
