"""Is the distilled student at least nearly as good as its teacher? A non-inferiority test.

In a distillation check, raters compare the student (no prompt) with the teacher (the base
model with the winning prompt) among other arms; the analysis estimates the student's effect
d against the teacher in log-odds of being preferred. The student is *non-inferior* with margin
m > 0 when the one-sided lower confidence bound of d exceeds -m: "not worse than the teacher by
more than m", tested at level alpha (ICH E9; Wellek 2010, ch. 1). A margin of 0.2 log-odds means,
on a scale without ties, that the student may lose at most 45% vs 55% (expit(-0.2) = 0.45) of the
comparisons with the teacher; with ties the statement stays in log-odds, as the shares then also
depend on how often raters call the two equal.

The bound uses the analysis's own standard error (robust by query and rater where there are
enough clusters) and Student's t on its degrees of freedom when it has them.
"""
from dataclasses import asdict, dataclass

from scipy import stats

DEFAULT_MARGIN = 0.2
DEFAULT_ALPHA = 0.05


@dataclass(frozen=True)
class NonInferiority:
    estimate: float  # student vs teacher, log-odds
    std_error: float
    lower: float  # one-sided (1 - alpha) lower confidence bound
    margin: float
    alpha: float
    non_inferior: bool

    @property
    def statement(self):
        bound = (f"one-sided {1 - self.alpha:.0%} lower bound {self.lower:+.2f}, estimate {self.estimate:+.2f} "
                 f"(SE {self.std_error:.2f})")
        margin = f"{-self.margin:+.2f} against the teacher"
        if self.non_inferior:
            return (f"The student is non-inferior to the teacher with margin {self.margin:g}: its log-odds of being "
                    f"preferred are above {margin} ({bound}).")
        return (f"Non-inferiority is not shown with margin {self.margin:g}: the student's log-odds of being preferred "
                f"may be below {margin} ({bound}).")

    def as_dict(self):
        return {**asdict(self), "statement": self.statement}


def non_inferiority(estimate, std_error, margin=DEFAULT_MARGIN, alpha=DEFAULT_ALPHA, df=None):
    """Test H0: d <= -margin against H1: d > -margin.

    Parameters
    ----------
    estimate, std_error : float
        The student's effect against the teacher (log-odds) and its standard error.
    margin : float
        The largest loss (log-odds, > 0) that still counts as "as good".
    alpha : float
        One-sided level.
    df : int or None
        Degrees of freedom of the standard error (Student's t); None for the normal.

    Returns
    -------
    NonInferiority
    """
    if margin <= 0:
        raise ValueError("the margin must be positive (log-odds the student may lose by)")
    if not 0 < alpha < 0.5:
        raise ValueError("alpha must be between 0 and 0.5")
    quantile = stats.t.ppf(1 - alpha, df) if df else stats.norm.ppf(1 - alpha)
    lower = float(estimate - quantile * std_error)
    return NonInferiority(estimate=float(estimate), std_error=float(std_error), lower=lower, margin=float(margin),
                          alpha=float(alpha), non_inferior=lower > -margin)
