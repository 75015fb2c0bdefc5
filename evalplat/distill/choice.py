"""What "best" means after an experiment: the recommended combination, and the variant that has it.

The analysis recommends the combination of each factor's best level; an orthogonal array tests
only some combinations, so that one may not be among the variants. Distillation needs answers,
so it uses the recommended combination's variant when it was tested and otherwise the tested
variant with the highest estimated utility, and says which (the export's `--distill-variant best`
follows the same rule: both call analysis.bundle.distill_choice). A confirmation run tests the
recommended combination itself.

Everything here reads the experiment's stored analysis (snapshots.analysis_for): the report's
fit, with its rater exclusions, computed once per new judgment; with criteria, the first
criterion's, as the export does.
"""
from dataclasses import dataclass

from evalplat.analysis.bundle import ExportRefused, distill_choice


class NoWinner(ValueError):
    """The experiment cannot name a best variant yet; the message says why."""


@dataclass(frozen=True)
class Winner:
    levels: dict  # factor -> level: the recommended combination (perhaps untested)
    recommended_variant: str | None  # the variant that is exactly that combination, if any
    best_tested: str  # the variant with the highest estimated utility
    baseline: str | None  # the all-baseline variant, if the design has one
    best: object  # analysis.result.BestCombination: the prediction, corrected for the choice too


def _analysis(experiment):
    from evalplat.analysis.criteria import CriteriaAnalysis
    from evalplat.analysis.snapshots import NoAnalysis, analysis_for

    outcome = analysis_for(experiment)
    if isinstance(outcome, NoAnalysis):
        raise NoWinner(f"{outcome.reason}, so there is no best variant yet")
    return outcome.primary if isinstance(outcome, CriteriaAnalysis) else outcome


def find_winner(experiment):
    result = _analysis(experiment)
    best = result.best_combination
    baselines = result.baseline_levels()
    baseline = [v.variant for v in result.variants if v.levels == baselines]
    return Winner(levels=dict(best.levels), recommended_variant=best.variant, best_tested=result.best_tested_variant,
                  baseline=baseline[0] if baseline else None, best=best)


def resolve_variant(experiment, requested):
    """(variant code, a sentence saying why) for `best` or a named variant `vN`."""
    from evalplat.analysis.data import variant_table

    result = _analysis(experiment) if requested == "best" else None
    try:
        choice = distill_choice(variant_table(experiment), result, requested, experiment.slug)
    except ExportRefused as exc:
        raise NoWinner(str(exc)) from None
    return choice.variant, choice.reason
