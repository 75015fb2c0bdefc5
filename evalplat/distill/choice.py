"""What "best" means after an experiment: the recommended combination, and the variant that has it.

The analysis recommends the combination of each factor's best level; an orthogonal array tests
only some combinations, so that one may not be among the variants. Distillation needs answers,
so it uses the recommended combination's variant when it was tested and otherwise the tested
variant with the highest estimated utility, and says which. A confirmation run tests the
recommended combination itself.

The export's `--distill-variant best` follows the same rule (evalplat.analysis.bundle.distill_choice,
from the analysis branch, which reads the analysis result); the two should become one function
when the lead merges them (this one fits the model itself, as that result did not exist here yet).
"""
from dataclasses import dataclass

import numpy as np

from evalplat.analysis.data import experiment_data
from evalplat.analysis.effects import best_combination
from evalplat.analysis.estimate import Settings, estimate_effects, prepare


class NoWinner(ValueError):
    """The experiment cannot name a best variant yet; the message says why."""


@dataclass(frozen=True)
class Winner:
    levels: dict  # factor -> level: the recommended combination (perhaps untested)
    recommended_variant: str | None  # the variant that is exactly that combination, if any
    best_tested: str  # the variant with the highest estimated utility
    baseline: str | None  # the all-baseline variant, if the design has one
    estimate: object  # analysis.estimate.Estimate
    variants: object  # analysis.tables.VariantTable


def find_winner(experiment, settings=Settings()):
    data = experiment_data(experiment)
    variants, judgments = data.variants, data.judgments
    if judgments is None:
        raise NoWinner(f"experiment {experiment.slug!r} has no judgments, so there is no best variant yet")
    estimate = estimate_effects(variants.dummies(), prepare(judgments, settings), settings)
    best = best_combination(variants, estimate.beta, estimate.covariance[:-1, :-1], estimate.df)
    utilities = variants.dummies() @ estimate.beta
    baseline = [variants.ids[i] for i in range(len(variants.ids)) if not variants.runs[i].any()]
    return Winner(levels=best["levels"], recommended_variant=best["variant"],
                  best_tested=variants.ids[int(np.argmax(utilities))], baseline=baseline[0] if baseline else None,
                  estimate=estimate, variants=variants)


def resolve_variant(experiment, requested):
    """(variant code, a sentence saying why) for `best` or a named variant `vN`."""
    codes = list(experiment.variants.values_list("code", flat=True))
    if requested != "best":
        if requested not in codes:
            raise NoWinner(f"{requested!r} is not a variant of {experiment.slug!r} ({', '.join(codes)})")
        return requested, f"{requested}, as asked"
    winner = find_winner(experiment)
    combination = ", ".join(f"{factor}={level}" for factor, level in winner.levels.items())
    if winner.recommended_variant:
        return winner.recommended_variant, f"the recommended combination ({combination}), tested as {winner.recommended_variant}"
    return winner.best_tested, (f"the recommended combination ({combination}) was not tested; {winner.best_tested} "
                                "is the tested variant with the highest estimated utility")
