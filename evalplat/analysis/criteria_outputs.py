"""The files of an analysis on several criteria, next to `outputs.write_analysis` for one question.

report.html is the criteria's page (`templates/reports/criteria.html`): each level's effect on
every criterion and on the weighted combination, where the criteria disagree, the correlations,
α per criterion and the raters' agreement; each criterion's whole report (every section of the
one-question report) is `report-N-CRITERION.html` beside it. effects.json is
`CriteriaAnalysis.as_json()`; effects.csv is the one-question table with a `criterion` column first.
"""
import re

from django.template import Context

from .criteria import CriteriaAnalysis
from .outputs import EFFECT_COLUMNS, effects_csv, effects_json, write_analysis, write_files
from .report import ENGINE, num, render_report

# The raters' table lists the least agreeing ones; effects.json has every rater.
MAX_SHOWN_RATERS = 50


def report_name(index, criterion):
    """report-2-warmth.html: numbered, and only the name's safe characters (a CSV's names are any text)."""
    safe = re.sub(r"[^a-z0-9_-]+", "", criterion.lower())[:40]
    return f"report-{index + 1}{'-' + safe if safe else ''}.html"


def _interval(low, high):
    return f"[{num(low, signed=True)}, {num(high, signed=True)}]"


def _code_spans(sentence):
    """A sentence's `code` parts as (text, is_code) pieces, so the template escapes every piece."""
    return [(piece, i % 2 == 1) for i, piece in enumerate(sentence.split("`")) if piece]


def criteria_context(analysis, link=report_name):
    """The template's values; `link(index, name)` is where each criterion's whole report is."""
    names = analysis.names
    by_criterion = [{(e.factor, e.level): e for e in part.result.tested_effects()} for part in analysis.criteria]
    rows = []
    for combined in analysis.combination:
        key = (combined.factor, combined.level)
        cells = [by_criterion[i][key] for i in range(len(names))]
        rows.append({"factor": combined.factor, "level": combined.level,
                     "cells": [{"estimate": num(e.estimate, signed=True), "interval": _interval(e.ci_low, e.ci_high),
                                "clear": e.ci_low > 0 or e.ci_high < 0} for e in cells],
                     "combined": num(combined.estimate, signed=True),
                     "combined_interval": _interval(combined.ci_low, combined.ci_high)})

    def matrix(values):
        return [{"name": name, "cells": [num(v) for v in row]} for name, row in zip(names, values)]

    by_rater = {}
    for row in analysis.rater_agreement:
        by_rater.setdefault(row.rater, {})[row.criterion] = row
    # Least agreeing first: those are the raters to look at.
    raters = sorted(by_rater.items(), key=lambda item: (min(r.agreement for r in item[1].values()), item[0]))
    first = analysis.primary
    return {
        "title": first.design.title or first.design.name or "Effect report",
        "criteria": [{"name": part.criterion, "weight": num(part.weight, 2), "report": link(i, part.criterion),
                      "n": f"{part.result.n_judgments:,}", "interval_method": part.result.interval_method}
                     for i, part in enumerate(analysis.criteria)],
        "names": names,
        "rows": rows,
        "weights": " + ".join(f"{num(part.weight, 2)} × {part.criterion}" for part in analysis.criteria),
        "combination_method": analysis.combination_method,
        "disagreements": [_code_spans(d.sentence) for d in analysis.disagreements],
        "effect_correlation": matrix(analysis.effect_correlation),
        "answer_correlation": matrix(analysis.answer_correlation),
        "alpha": [{"name": a.criterion, "alpha": num(a.alpha), "interval": "–" if a.ci_low is None else
                   f"[{num(a.ci_low)}, {num(a.ci_high)}]", "items": f"{a.multiply_rated_items:,}"}
                  for a in analysis.alpha],
        "raters": [{"rater": rater, "cells": [f"{num(rows[name].agreement)} ({rows[name].judgments})" if name in rows
                                              else "–" for name in names]}
                   for rater, rows in raters[:MAX_SHOWN_RATERS]],
        "raters_left_out": max(0, len(raters) - MAX_SHOWN_RATERS),
    }


def render_criteria_report(analysis, link=report_name):
    return ENGINE.get_template("criteria.html").render(Context(criteria_context(analysis, link)))


def render_any_report(analysis, criterion=""):
    """The console's report page: the one-question report, or for criteria their page, and with
    `criterion` (a row number, "1" for the first) that criterion's whole report."""
    if not isinstance(analysis, CriteriaAnalysis):
        return render_report(analysis)
    if criterion.isdigit() and 1 <= int(criterion) <= len(analysis.criteria):
        return render_report(analysis.criteria[int(criterion) - 1].result)
    return render_criteria_report(analysis, link=lambda index, name: f"?criterion={index + 1}")


def write_outputs(out_dir, variants, judgments, analysis, judgments_csv=None):
    """`outputs.write_analysis` for a one-question result; the criteria's files for a CriteriaAnalysis."""
    if not isinstance(analysis, CriteriaAnalysis):
        return write_analysis(out_dir, variants, judgments, analysis, judgments_csv=judgments_csv)
    files = {"effects.json": effects_json(analysis), "effects.csv": effects_csv(analysis, ("criterion",) + EFFECT_COLUMNS),
             "report.html": render_criteria_report(analysis)}
    files.update({report_name(i, part.criterion): render_report(part.result)
                  for i, part in enumerate(analysis.criteria)})
    return write_files(out_dir, files, variants, judgments, judgments_csv)
