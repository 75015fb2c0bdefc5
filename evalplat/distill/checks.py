"""Reading a distillation check's judgments: the student against its teacher.

A distillation check's design (followup_designs.distillation_check_design) makes the teacher the
baseline level of its `arm` factor, so the report's effect of arm=student *is* the student against
the teacher. The statement reads that effect from the experiment's stored analysis
(snapshots.analysis_for): the same fit, exclusions and interval errors as the report beside it.
The statement itself is Django-free (analysis.noninferiority).
"""
from dataclasses import dataclass

from evalplat.analysis.noninferiority import DEFAULT_ALPHA, DEFAULT_MARGIN, NonInferiority, non_inferiority

ARM, TEACHER, STUDENT = "arm", "teacher", "student"


@dataclass(frozen=True)
class StudentVerdict:
    criterion: str          # "" for a design with one question
    verdict: NonInferiority


def is_distillation_check(experiment):
    """Whether `experiment` compares a student with its teacher as the baseline of an `arm` factor."""
    levels = list(experiment.factors.filter(name=ARM).values_list("levels__name", "levels__position"))
    return (TEACHER, 0) in levels and any(name == STUDENT for name, _ in levels)


def student_against_teacher(experiment, margin=DEFAULT_MARGIN, alpha=DEFAULT_ALPHA):
    """[StudentVerdict], one per criterion (one for a single question); ValueError without judgments."""
    from evalplat.analysis.snapshots import NoAnalysis, analysis_for

    if not is_distillation_check(experiment):
        raise ValueError(f"{experiment.slug} is not a distillation check: it has no factor {ARM!r} with "
                         f"{TEACHER!r} as its baseline and a level {STUDENT!r} (see manage.py distill_check)")
    outcome = analysis_for(experiment)
    if isinstance(outcome, NoAnalysis):
        raise ValueError(outcome.reason)
    return verdicts(outcome, margin, alpha)


def verdicts(outcome, margin=DEFAULT_MARGIN, alpha=DEFAULT_ALPHA):
    """[StudentVerdict] from a distillation check's analysis (an AnalysisResult or CriteriaAnalysis)."""
    from evalplat.analysis.criteria import CriteriaAnalysis

    parts = ([(part.criterion, part.result) for part in outcome.criteria] if isinstance(outcome, CriteriaAnalysis)
             else [("", outcome)])
    return [StudentVerdict(name, _verdict(result, margin, alpha)) for name, result in parts]


def _verdict(result, margin, alpha):
    effect = next(e for e in result.effects if e.factor == ARM and e.level == STUDENT)
    std_error = effect.robust_std_error if result.interval_method == "robust" else effect.std_error
    return non_inferiority(effect.estimate, std_error, margin=margin, alpha=alpha, df=result.interval_df)
