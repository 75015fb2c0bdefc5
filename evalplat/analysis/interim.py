"""The interim look: while rating runs, is the target precision reached, and if not, how far off?

The stopping rule is on precision, never on significance: stop when every tested effect's
interval is at most ±target wide. Whether to stop then depends only on how wide the intervals are,
not on where they lie, so looking after every judgment does not bias the estimates towards
"significant" the way stopping at the first p < 0.05 would (the sequential fixed-width interval
of Chow & Robbins, 1965, whose coverage tends to the nominal level as the target narrows;
tests/analysis/test_interim.py checks the coverage under repeated looks by simulation).

Early looks estimate the spread badly, so the rule may stop only once the interval's degrees of
freedom (min(queries, raters) - 1, as `analyze` uses) reach MIN_DEGREES_OF_FREEDOM.

The number of further judgments expected assumes half-widths shrink as 1/sqrt(judgments), true of
the fitted model's standard errors when new judgments resemble the ones so far.
"""
import math
from dataclasses import dataclass

from .result import AnalysisResult
from .words import plural

MIN_DEGREES_OF_FREEDOM = 9


@dataclass(frozen=True)
class InterimLook:
    reached: bool                        # stop now: target precision reached on every tested effect
    worst_halfwidth: float               # the widest tested effect's interval, half of it (log-odds)
    worst_effect: str                    # "factor=level" of that effect
    target_halfwidth: float
    judgments: int                       # judgments the fit used
    more_judgments_expected: int | None  # None when reached, or when too few raters/queries to say
    statement: str                       # one plain sentence for the console


def halfwidth(effect):
    return (effect.ci_high - effect.ci_low) / 2


def interim_look(result: AnalysisResult, target_halfwidth: float) -> InterimLook:
    """The stopping statement for `result`, the analysis of the judgments so far.

    Parameters
    ----------
    result : result.AnalysisResult
    target_halfwidth : float
        Half-width of the 95% interval (log-odds) every tested effect should reach.

    Returns
    -------
    InterimLook
    """
    if target_halfwidth <= 0:
        raise ValueError(f"target_halfwidth: {target_halfwidth!r} must be above 0")
    tested = result.tested_effects()
    if not tested:
        raise ValueError("the analysis has no tested effects to look at")
    worst = max(tested, key=halfwidth)
    width, name = halfwidth(worst), f"{worst.factor}={worst.level}"
    n = result.n_judgments
    degrees = min(result.n_queries, result.n_raters) - 1
    target = f"±{target_halfwidth:.2f}"
    if not math.isfinite(width):
        return InterimLook(False, width, name, target_halfwidth, n, None,
                           f"Not yet: the interval of {name} is not finite with {n:,} judgments; keep rating.")
    if degrees < MIN_DEGREES_OF_FREEDOM:
        return InterimLook(False, width, name, target_halfwidth, n, None,
                           f"Too early to judge precision: {plural(result.n_raters, 'rater')} and "
                           f"{plural(result.n_queries, 'query', 'queries')} so far; the rule needs at least "
                           f"{MIN_DEGREES_OF_FREEDOM + 1} of each. "
                           f"Widest interval now: {name} ±{width:.2f}.")
    if width <= target_halfwidth:
        return InterimLook(True, width, name, target_halfwidth, n, None,
                           f"Target precision reached: every effect's 95% interval is within {target} "
                           f"(widest: {name} ±{width:.2f}) after {n:,} judgments. Rating can stop.")
    more = math.ceil(n * (width / target_halfwidth) ** 2) - n
    return InterimLook(False, width, name, target_halfwidth, n, more,
                       f"Not yet: the widest interval is {name} ±{width:.2f}, the target {target}; "
                       f"about {more:,} more judgments expected (if half-widths shrink as 1/√judgments).")
