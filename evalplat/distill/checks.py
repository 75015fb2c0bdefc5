"""Reading a follow-up's judgments: the student against its teacher, the confirmed effect.

Django glue over the analysis (the fit is the analysis's own `estimate_effects`, so the numbers
are the report's); the statements themselves are Django-free (analysis.noninferiority).
"""
import numpy as np

from evalplat.analysis.data import experiment_data
from evalplat.experiments.models import Experiment
from evalplat.analysis.estimate import Settings, estimate_effects, prepare
from evalplat.analysis.noninferiority import DEFAULT_ALPHA, DEFAULT_MARGIN, non_inferiority


def arm_contrast(slug, level, against, factor="arm", settings=Settings()):
    """(estimate, std_error, df) of `level` minus `against` of `factor`, in log-odds."""
    data = experiment_data(Experiment.objects.get(slug=slug))
    variants, judgments = data.variants, data.judgments
    if judgments is None:
        raise ValueError(f"experiment {slug!r} has no judgments yet")
    estimate = estimate_effects(variants.dummies(), prepare(judgments, settings), settings)
    labels = variants.effect_labels()
    if factor not in variants.factors:
        raise ValueError(f"{slug} has no factor {factor!r}")
    contrast = np.zeros(len(labels))
    for name, sign in ((level, 1.0), (against, -1.0)):
        names = variants.levels[variants.factors.index(factor)]
        if name not in names:
            raise ValueError(f"factor {factor!r} of {slug} has no level {name!r} ({', '.join(names)})")
        if (factor, name) in labels:  # the baseline level has no column: its effect is 0
            contrast[labels.index((factor, name))] += sign
    covariance = estimate.covariance[:-1, :-1]
    return float(contrast @ estimate.beta), float(np.sqrt(contrast @ covariance @ contrast)), estimate.df


def student_against_teacher(slug, margin=DEFAULT_MARGIN, alpha=DEFAULT_ALPHA):
    """The non-inferiority of a distillation check's student arm against its teacher arm."""
    estimate, std_error, df = arm_contrast(slug, "student", "teacher")
    return non_inferiority(estimate, std_error, margin=margin, alpha=alpha, df=df)
