"""Database rows -> the arrays of `tables` (the only analysis module that touches Django).

Judged assignments become judgment rows exactly like a judgments.csv line: query key, variant
codes, winner, strength and the criterion answered (an item asked about several criteria is a row
per criterion, in the design's order); raters are labelled r<pk> (never the public id, which a
rater's browser holds); gold items carry their known better side; answer lengths and markdown
counts feed the length/style diagnostic.
"""
from dataclasses import dataclass

import numpy as np

from designs.spec import analysis_from_text
from evalplat.generation.models import Answer
from evalplat.rating.models import Judgment, Rater

from .result import DesignContext
from .tables import Judgments, VariantTable, build_judgments
from .textstats import markup_count


def variant_table(experiment):
    factors = list(experiment.factors.prefetch_related("levels").order_by("position"))
    levels = [[level.name for level in factor.levels.order_by("position")] for factor in factors]
    index = [{name: i for i, name in enumerate(names)} for names in levels]
    ids, runs = [], []
    for variant in experiment.variants.prefetch_related("levels__factor").order_by("position"):
        names = variant.level_names()
        ids.append(variant.code)
        runs.append([index[f][names[factor.name]] for f, factor in enumerate(factors)])
    return VariantTable(ids=tuple(ids), factors=tuple(f.name for f in factors),
                        levels=tuple(tuple(names) for names in levels),
                        runs=np.array(runs, dtype=np.int64).reshape(len(ids), len(factors)))


def judgment_rows(experiment, up_to=None):
    """Every judgment of the experiment (those with id <= `up_to` when given) as a row dict."""
    judgments = (Judgment.objects.filter(assignment__experiment=experiment)
                 .select_related("assignment__query", "assignment__left_answer__variant",
                                 "assignment__right_answer__variant")
                 .order_by("assignment__rater_id", "assignment__position", "pk"))
    if up_to is not None:
        judgments = judgments.filter(pk__lte=up_to)
    markup = {}      # an answer appears in many judgments; parse its Markdown once
    # The rating pages own the too-fast rule (Rater.too_fast, kept current on every submit, so a
    # stored analysis keyed by the judgments stays right); the analysis sets those raters aside.
    too_fast = set(Rater.objects.filter(experiment=experiment, too_fast=True).values_list("pk", flat=True))

    def structure(answer):
        if answer.pk not in markup:
            markup[answer.pk] = markup_count(answer.text)
        return markup[answer.pk]

    rows = []
    for judgment in judgments:
        item = judgment.assignment
        left, right = item.left_answer, item.right_answer
        rows.append({
            "id": judgment.pk,
            "query": item.query.key, "left": left.variant.code, "right": right.variant.code,
            "winner": judgment.winner, "strength": judgment.strength or 0, "rater": f"r{item.rater_id}",
            "category": item.query.category, "both_bad": judgment.both_bad,
            "gold": item.gold_better if item.is_gold else "",
            "left_chars": len(left.text), "right_chars": len(right.text),
            "left_markup": structure(left), "right_markup": structure(right),
            "left_answer": left.pk, "right_answer": right.pk,
            "criterion": judgment.criterion,
            "too_fast": item.rater_id in too_fast,
        })
    return rows


def answer_records(experiment):
    """Every answer of the experiment as a plain dict (raw data for answers.jsonl and exports)."""
    answers = (Answer.objects.filter(experiment=experiment).select_related("variant", "query")
               .order_by("variant__position", "query__position", "sample"))
    return [{
        "id": a.pk, "variant": a.variant.code, "query": a.query.key, "query_text": a.query.text,
        "sample": a.sample, "status": a.status, "excluded": a.excluded, "exclusion_reason": a.exclusion_reason,
        "messages": a.messages, "text": a.text, "finish_reason": a.finish_reason, "model": a.model,
        "model_hash": a.model_hash, "adapter_hash": a.adapter_hash, "settings": a.settings, "seed": a.seed,
        "backend": a.backend,
        "engine_version": a.engine_version, "prompt_tokens": a.prompt_tokens,
        "completion_tokens": a.completion_tokens, "latency_ms": a.latency_ms, "logprobs": a.logprobs,
    } for a in answers]


def design_analysis(experiment):
    """The [analysis] table of the experiment's design (designs.spec.AnalysisSettings)."""
    return analysis_from_text(experiment.design_text)


def design_context(experiment):
    return DesignContext(name=experiment.slug, title=experiment.title, question=experiment.question,
                         array=experiment.array_name, foldover=experiment.foldover)


@dataclass(frozen=True)
class ExperimentData:
    """What the analysis and the exports read of one experiment, loaded once."""
    variants: VariantTable
    judgments: Judgments | None     # None while there are no judgments
    rows: list                      # the judgment rows (with answer ids, for the exports)
    design: DesignContext


def experiment_data(experiment, up_to=None):
    """The variants, the judgments (those with id <= `up_to` when given) and the design context."""
    variants = variant_table(experiment)
    rows = judgment_rows(experiment, up_to)
    judgments = build_judgments(rows, variants.ids) if rows else None
    return ExperimentData(variants=variants, judgments=judgments, rows=rows, design=design_context(experiment))
