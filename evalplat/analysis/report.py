"""report.html: one self-contained page (inline CSS and SVG, no network) from an `AnalysisResult`.

Rendered with Django's template engine used standalone (`Engine`, no settings needed) because
it auto-escapes every value: level names, query categories and rater labels are user input.
All numbers are formatted here, so the template prints only strings and never localises.
"""
from pathlib import Path

from django.template import Context, Engine
from django.utils.safestring import mark_safe

from . import plots
from .effects import outcome_shares
from .result import CLICKER_FLAG
from .words import plural

TEMPLATE_DIR = Path(__file__).resolve().parent.parent.parent / "templates" / "reports"
ENGINE = Engine(dirs=[str(TEMPLATE_DIR)], autoescape=True)
# A page with a row per rater of a crowd study (25,000 raters at 1M judgments) is unreadable and
# slow to render; the report shows the raters that need a look and says how many it left out.
MAX_RATER_ROWS = 200
MAX_PLOTTED_RATERS = 400


def pct(value):
    return "–" if value is None else f"{100 * value:.0f}%"


def num(value, digits=2, signed=False):
    if value is None:
        return "–"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def se_text(value):
    """A standard error with two significant digits when it is below 0.1 (0.0027, not 0.00)."""
    if value is None or value == 0 or value >= 0.1:
        return num(value)
    return f"{value:.2g}" if value >= 1e-4 else f"{value:.1e}"


def pval(value):
    if value is None:
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def comparison_text(result, level, baseline, win, low, high, tie, loss):
    """How often raters prefer `level` over `baseline`; on a tie scale the ties and the losses
    are said apart, since "preferred" would otherwise have to absorb the ties."""
    if not result.scale.ties:
        return f"raters prefer “{level}” over “{baseline}” {pct(win)} of the time ({pct(low)}–{pct(high)})"
    return (f"raters prefer “{level}” in {pct(win)} of comparisons with “{baseline}” ({pct(low)}–{pct(high)}), "
            f"“{baseline}” in {pct(loss)}, and call them about equal in {pct(tie)}")


def summary_sentences(result):
    """The plain-language summary at the top of the report."""
    baselines = result.baseline_levels()
    sentences = []
    for row in result.tested_effects():
        comparison = comparison_text(result, row.level, baselines[row.factor], row.win_probability, row.win_low,
                                     row.win_high, row.tie_probability, row.loss_probability)
        if row.significant:
            sentences.append(f"{row.factor}: all else equal, {comparison}.")
        else:
            sentences.append(f"{row.factor}: no clear difference (adjusted p = {pval(row.p_holm)}) — {comparison}.")
    best = result.best_combination
    chosen = ", ".join(f"{factor} = {level}" for factor, level in best.levels.items())
    sentences.append(
        f"Best predicted combination: {chosen}. Predicted to beat the all-baseline variant "
        f"{pct(best.win_rate)} of the time ({pct(best.win_low)}–{pct(best.win_high)}){_tie_clause(result, best)}; "
        f"{_selection_clause(best)}, so confirm it with a direct comparison.")
    left, tie, right = outcome_shares(result.position_bias.estimate, result.scale.tie_edge)
    sentences.append(f"Position: with equal answers, the left one is preferred {pct(left)} of the time"
                     + (f", the right one {pct(right)}, and they are called about equal {pct(tie)}."
                        if result.scale.ties else "."))
    careless = result.careless
    if careless.fitted:
        sentences.append(f"About {careless.expected_careless_raters:.1f} of {plural(result.n_raters, 'rater')} "
                         f"look like random clickers; their judgments are down-weighted by the model, not deleted.")
    return sentences


def _selection_clause(best):
    """What picking the best level of each factor did to the prediction, in numbers when known."""
    if best.corrected_log_odds is None:  # a result stored before the correction existed
        return "picking the best of each factor flatters it a little"
    return (f"corrected for having picked the best of each factor (winner's curse), "
            f"{pct(best.corrected_win_rate)} ({num(best.corrected_log_odds, signed=True)} log-odds "
            f"instead of {num(best.log_odds, signed=True)})")


def _tie_clause(result, best):
    return f", to lose {pct(best.loss_rate)} and to tie {pct(best.tie_rate)}" if result.scale.ties else ""


def reading_note(result):
    """What the percentages in the effects table are, true of this scale."""
    note = ("A percentage is how often raters would prefer an answer with that level over one with the baseline "
            "level, if nothing else differed.")
    if result.scale.ties:
        note += (" Raters could also call two answers about equal: those comparisons count neither as a win nor as "
                 "a loss, so a level's wins, ties and losses add up to 100%.")
    return note


def _effect_table(result):
    reference_only = result.interval_method != "robust"
    return [{
        "factor": row.factor, "level": row.level, "baseline": row.baseline,
        "estimate": num(row.estimate, signed=True), "se": se_text(row.std_error),
        "robust_se": (f"({se_text(row.robust_std_error)})" if reference_only and not row.baseline
                      else se_text(row.robust_std_error)),
        "ci": f"{num(row.ci_low, signed=True)} to {num(row.ci_high, signed=True)}",
        "p": pval(row.p_value), "p_holm": pval(row.p_holm),
        "win": pct(row.win_probability) + (f" ({pct(row.tie_probability)} tie)" if result.scale.ties else ""),
        "win_ci": f"{pct(row.win_low)}–{pct(row.win_high)}", "significant": row.significant,
    } for row in result.effects]


def shown_raters(result, limit):
    """At most `limit` raters for the table and the plot: excluded and likely clickers first,
    then the others, each group in the result's order; and how many were left out."""
    excluded = result.excluded_rater_names()

    def flagged(row):
        return row.rater in excluded or (row.careless_probability or 0) >= CLICKER_FLAG

    rows = result.raters
    if len(rows) <= limit:
        return rows, 0
    chosen = ([row for row in rows if flagged(row)] + [row for row in rows if not flagged(row)])[:limit]
    keep = {id(row) for row in chosen}
    return [row for row in rows if id(row) in keep], len(rows) - len(chosen)


def _rater_rows(rows, excluded):
    return [{
        "rater": row.rater, "judgments": row.judgments, "tie_rate": pct(row.tie_rate),
        "left_share": pct(row.left_share), "consensus": pct(row.consensus_agreement),
        "consensus_items": row.consensus_items, "model": pct(row.model_agreement),
        "careless": pct(row.careless_probability), "excluded": row.rater in excluded,
    } for row in rows]


def _style_rows(style):
    if not style:
        return None
    return {
        "covariates": [{"name": c.name, "estimate": num(c.estimate, signed=True), "se": num(c.std_error)}
                       for c in style.covariates],
        "effects": [{"factor": e.factor, "level": e.level, "before": num(e.estimate, signed=True),
                     "after": num(e.adjusted, signed=True), "after_se": num(e.adjusted_std_error),
                     "explained": "–" if e.explained is None else f"{100 * e.explained:.0f}%",
                     "reason": e.explained_reason}
                    for e in style.effects],
        "left_out": style.left_out,
        "sample": _sample_sentence(style.fitted_judgments, style.judgments),
    }


def _sample_sentence(fitted, total):
    """Says when a diagnostic was fitted on a random sample of the judgments."""
    if fitted is None or total is None or fitted >= total:
        return None
    return (f"Fitted on a random sample of {fitted:,} of the {total:,} judgments (a diagnostic; the effects above use "
            f"all of them), so its standard errors are those of the sample.")


def _interaction_rows(interactions):
    if not interactions:
        return None
    return {"skipped": interactions.skipped, "rows": [{
        "factors": " × ".join(row.factors), "estimable": row.estimable,
        "estimate": num(row.estimate, signed=True), "se": num(row.std_error),
        "ci": f"{num(row.ci_low, signed=True)} to {num(row.ci_high, signed=True)}" if row.estimable else "",
        "reason": row.reason or "not estimable from the judged pairs",
    } for row in interactions.effects]}


def _counts(result):
    """The facts under the summary, counted as the console counts (evalplat/console/counts.py): an
    attention item is never a judgment; it is counted apart."""
    judgments = result.n_judgments_total - result.gold.items
    facts = [f"{plural(judgments, 'judgment')}, all analysed" if result.n_judgments == judgments
             else f"{plural(judgments, 'judgment')}, {result.n_judgments:,} analysed"]
    if result.gold.items:
        facts.append(f"{plural(result.gold.items, 'attention item')}, scored apart")
    return facts + [plural(result.n_queries, "query", "queries"), plural(result.n_raters, "rater"),
                    plural(result.n_variants, "variant")]


def report_context(result):
    labels = [(row.factor, row.level) for row in result.tested_effects()]
    by_category = result.by_category or []
    agreement = result.agreement
    excluded = result.excluded_rater_names()
    table_raters, table_hidden = shown_raters(result, MAX_RATER_ROWS)
    plot_raters, plot_hidden = shown_raters(result, MAX_PLOTTED_RATERS)
    heatmap = plots.category_heatmap(by_category, labels)
    raters_svg = plots.rater_plot(plot_raters, hidden=plot_hidden)
    design = result.design
    best = result.best_combination
    return {
        "title": design.title or design.name or "Effect report",
        "question": design.question,
        "design": design,
        "summary": summary_sentences(result),
        "counts": _counts(result),
        "effects": _effect_table(result),
        "interval_detail": result.interval_detail,
        "interval_note": result.interval_note,
        "forest_svg": mark_safe(plots.forest_plot(result.effects, result.scale.tie_edge)),
        "main_effects_svg": mark_safe(plots.main_effects_plot(result.effects, result.factors)),
        "heatmap_svg": mark_safe(heatmap) if heatmap else None,
        "categories": [{"name": c.category, "judgments": f"{c.judgments:,}", "queries": f"{c.queries:,}",
                        "thin": c.thin} for c in by_category],
        "categories_sample": _sample_sentence(sum(c.fitted_judgments or 0 for c in by_category),
                                              sum(c.judgments for c in by_category)) if by_category else None,
        "rater_svg": mark_safe(raters_svg) if raters_svg else None,
        "reading_note": reading_note(result),
        "best": {"levels": best.levels, "variant": best.variant, "win": pct(best.win_rate),
                 "ties": _tie_clause(result, best),
                 "win_ci": f"{pct(best.win_low)}–{pct(best.win_high)}", "log_odds": num(best.log_odds, signed=True),
                 **({} if best.corrected_log_odds is None else {
                     "corrected": num(best.corrected_log_odds, signed=True), "corrected_win": pct(best.corrected_win_rate),
                     "bias": num(best.selection_bias), "shrunken": num(best.shrunken_log_odds, signed=True)})},
        "position": {"estimate": num(result.position_bias.estimate, signed=True),
                     "ci": f"{num(result.position_bias.ci_low, signed=True)} to "
                           f"{num(result.position_bias.ci_high, signed=True)}"},
        "alpha": num(agreement.alpha_ordinal), "alpha_perfect": num(agreement.alpha_perfect_raters),
        "multiply_rated": plural(agreement.multiply_rated_items, "item"),
        "raters": _rater_rows(table_raters, excluded),
        "raters_hidden": (f"The table shows {len(table_raters):,} of {plural(len(result.raters), 'rater')} "
                          f"(excluded raters and likely clickers first); effects.json lists every rater."
                          if table_hidden else None),
        "careless": result.careless,
        "careless_share": pct(result.careless.share),
        "gold_accuracy": pct(result.gold.accuracy), "gold_items": result.gold.items,
        "exclusion_rule": result.exclusion_rule, "excluded": result.excluded_raters,
        "style": _style_rows(result.style),
        "interactions": _interaction_rows(result.interactions),
        "robustness": [{"factor": row.factor, "level": row.level, "judgments_to_flip": f"{row.judgments_to_flip:,}",
                        "verified_by_refit": row.verified_by_refit, "share": pct(row.share)}
                       for row in result.robustness or []],
        "notes": result.notes,
        "aliasing": result.aliasing,
        "variants": [{"id": v.variant, "levels": [v.levels[f.name] for f in result.factors]} for v in result.variants],
        "factor_names": [f.name for f in result.factors],
        "penalty_note": result.penalty.statement() if result.penalty else "",
        "both_bad": result.both_bad,
        "scale": ", ".join(result.scale.categories),
    }


def render_report(result):
    """report.html for an `AnalysisResult`."""
    return ENGINE.get_template("report.html").render(Context(report_context(result)))
