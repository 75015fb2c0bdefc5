"""report.html: one self-contained page (inline CSS and SVG, no network) from the analysis dict.

Rendered with Django's template engine used standalone (`Engine`, no settings needed) because
it auto-escapes every value: level names, query categories and rater labels are user input.
All numbers are formatted here, so the template prints only strings and never localises.
"""
from pathlib import Path

from django.template import Context, Engine
from django.utils.safestring import mark_safe

from . import plots

TEMPLATE_DIR = Path(__file__).resolve().parent.parent.parent / "templates" / "reports"
ENGINE = Engine(dirs=[str(TEMPLATE_DIR)], autoescape=True)


def pct(value):
    return "–" if value is None else f"{100 * value:.0f}%"


def num(value, digits=2, signed=False):
    if value is None:
        return "–"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def pval(value):
    if value is None:
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _significant(row):
    return not row["baseline"] and row["p_holm"] is not None and row["p_holm"] < 0.05


def summary_sentences(result):
    """The plain-language summary at the top of the report."""
    baselines = {row["factor"]: row["level"] for row in result["effects"] if row["baseline"]}
    sentences = []
    for row in result["effects"]:
        if row["baseline"]:
            continue
        comparison = (f"raters prefer “{row['level']}” over “{baselines[row['factor']]}” "
                      f"{pct(row['win_probability'])} of the time ({pct(row['win_low'])}–{pct(row['win_high'])})")
        if _significant(row):
            sentences.append(f"{row['factor']}: all else equal, {comparison}.")
        else:
            sentences.append(f"{row['factor']}: no clear difference (adjusted p = {pval(row['p_holm'])}) — {comparison}.")
    best = result["best_combination"]
    chosen = ", ".join(f"{factor} = {level}" for factor, level in best["levels"].items())
    sentences.append(
        f"Best predicted combination: {chosen}. Predicted to beat the all-baseline variant "
        f"{pct(best['win_rate'])} of the time ({pct(best['win_low'])}–{pct(best['win_high'])}); picking the "
        f"best of each factor flatters it a little, so confirm it with a direct comparison.")
    bias = result["position_bias"]
    sentences.append(f"Position: with equal answers, the left one is preferred "
                     f"{pct(1 / (1 + 2.718281828 ** -bias['estimate']))} of the time.")
    careless = result["careless"]
    if careless["fitted"]:
        sentences.append(f"About {careless['expected_careless_raters']:.1f} of {result['n_raters']} raters look like "
                         f"random clickers; their judgments are down-weighted by the model, not deleted.")
    return sentences


def _effect_table(result):
    return [{
        "factor": row["factor"], "level": row["level"], "baseline": row["baseline"],
        "estimate": num(row["estimate"], signed=True), "se": num(row["std_error"]),
        "robust_se": num(row["robust_std_error"]), "ci": f"{num(row['ci_low'], signed=True)} to {num(row['ci_high'], signed=True)}",
        "p": pval(row["p_value"]), "p_holm": pval(row["p_holm"]), "win": pct(row["win_probability"]),
        "win_ci": f"{pct(row['win_low'])}–{pct(row['win_high'])}", "significant": _significant(row),
    } for row in result["effects"]]


def _rater_rows(result):
    gold = {row["rater"]: row for row in result["excluded_raters"]}
    return [{
        "rater": row["rater"], "judgments": row["judgments"], "tie_rate": pct(row["tie_rate"]),
        "left_share": pct(row["left_share"]), "consensus": pct(row["consensus_agreement"]),
        "consensus_items": row["consensus_items"], "model": pct(row["model_agreement"]),
        "careless": pct(row["careless_probability"]), "excluded": row["rater"] in gold,
    } for row in result["raters"]]


def _style_rows(style):
    if not style:
        return None
    return {
        "covariates": [{"name": c["name"], "estimate": num(c["estimate"], signed=True), "se": num(c["std_error"])}
                       for c in style["covariates"]],
        "effects": [{"factor": e["factor"], "level": e["level"], "before": num(e["estimate"], signed=True),
                     "after": num(e["adjusted"], signed=True),
                     "explained": "–" if e["explained"] is None else f"{100 * e['explained']:.0f}%"}
                    for e in style["effects"]],
    }


def _interaction_rows(interactions):
    if not interactions:
        return None
    return {"skipped": interactions["skipped"], "rows": [{
        "factors": " × ".join(row["factors"]), "estimable": row["estimable"],
        "estimate": num(row.get("estimate"), signed=True), "se": num(row.get("std_error")),
        "ci": f"{num(row.get('ci_low'), signed=True)} to {num(row.get('ci_high'), signed=True)}" if row["estimable"] else "",
    } for row in interactions["effects"]]}


def report_context(result):
    labels = [(row["factor"], row["level"]) for row in result["effects"] if not row["baseline"]]
    by_category = result.get("by_category") or []
    agreement = result["agreement"]
    heatmap = plots.category_heatmap(by_category, labels)
    raters_svg = plots.rater_plot(result["raters"])
    design = result.get("design") or {}
    return {
        "title": design.get("title") or design.get("name") or "Effect report",
        "question": design.get("question"),
        "design": design,
        "summary": summary_sentences(result),
        "counts": result,
        "effects": _effect_table(result),
        "interval_detail": result["interval_detail"],
        "forest_svg": mark_safe(plots.forest_plot(result["effects"])),
        "main_effects_svg": mark_safe(plots.main_effects_plot(result["effects"], result["factors"])),
        "heatmap_svg": mark_safe(heatmap) if heatmap else None,
        "categories": [{"name": c["category"], "judgments": c["judgments"], "queries": c["queries"], "thin": c["thin"]}
                       for c in by_category],
        "rater_svg": mark_safe(raters_svg) if raters_svg else None,
        "best": {**result["best_combination"], "win": pct(result["best_combination"]["win_rate"]),
                 "win_ci": f"{pct(result['best_combination']['win_low'])}–{pct(result['best_combination']['win_high'])}",
                 "log_odds": num(result["best_combination"]["log_odds"], signed=True)},
        "position": {"estimate": num(result["position_bias"]["estimate"], signed=True),
                     "ci": f"{num(result['position_bias']['ci_low'], signed=True)} to "
                           f"{num(result['position_bias']['ci_high'], signed=True)}"},
        "alpha": num(agreement["alpha_ordinal"]), "alpha_perfect": num(agreement["alpha_perfect_raters"]),
        "multiply_rated": agreement["multiply_rated_items"],
        "raters": _rater_rows(result),
        "careless": result["careless"],
        "careless_share": pct(result["careless"].get("share")),
        "gold_accuracy": pct(result["gold"]["accuracy"]), "gold_items": result["gold"]["items"],
        "exclusion_rule": result["exclusion_rule"], "excluded": result["excluded_raters"],
        "style": _style_rows(result.get("style")),
        "interactions": _interaction_rows(result.get("interactions")),
        "robustness": [{**row, "share": pct(row["share"])} for row in result.get("robustness") or []],
        "notes": result["notes"],
        "aliasing": result["aliasing"],
        "variants": [{"id": v["variant"], "levels": [v[f["name"]] for f in result["factors"]]} for v in result["variants"]],
        "factor_names": [f["name"] for f in result["factors"]],
        "prior_sd": result["prior_sd"],
        "both_bad": result["both_bad"],
        "scale": ", ".join(result["scale"]["categories"]),
    }


def render_report(result):
    return ENGINE.get_template("report.html").render(Context(report_context(result)))
