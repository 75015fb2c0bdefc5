"""The non-inferiority statement against simulated blinded judgments with known truth."""
import numpy as np
import pytest

from designs.schedule import plan_pairs
from evalplat.analysis.estimate import Settings, estimate_effects
from evalplat.analysis.noninferiority import non_inferiority
from evalplat.analysis.simulate import SimulatedRaters, simulate_judgments
from evalplat.analysis.tables import treatment_dummies

# A distillation check: one arm factor, teacher (the baseline), student, base model without the prompt.
RUNS = np.array([[0], [1], [2]])
DUMMIES = treatment_dummies(RUNS, [3])
MARGIN = 0.2
QUERIES = 60


def decisions(student_effect, runs=120, judgments=900, seed=0):
    """Share of simulated checks that declare the student non-inferior, when its true effect
    against the teacher is `student_effect` (and the bare base model is 0.5 worse)."""
    rng = np.random.default_rng(seed)
    raters = SimulatedRaters(scale="5-point", careless_share=0.0, answer_sd=0.3)
    # One schedule from the real pair scheduler; the judgments are drawn afresh each run.
    items = plan_pairs(RUNS, [3], QUERIES, judgments, seed=seed, per_rater=40, overlap=0.0)
    rater, query, left, right = np.array([(i.rater, i.query, i.left, i.right) for i in items]).T
    declared = []
    for _ in range(runs):
        simulated, _ = simulate_judgments(DUMMIES, [student_effect, -0.5], rater, query, left, right, raters, rng,
                                          n_queries=QUERIES)
        estimate = estimate_effects(DUMMIES, simulated, Settings(careless=False))
        result = non_inferiority(estimate.beta[0], estimate.std_errors()[0], MARGIN, alpha=0.05, df=estimate.df)
        declared.append(result.non_inferior)
    return float(np.mean(declared))


def test_a_student_exactly_at_the_margin_is_declared_non_inferior_at_most_alpha_of_the_time():
    rate = decisions(-MARGIN)
    assert rate <= 0.05 + 2.5 * np.sqrt(0.05 * 0.95 / 120)


@pytest.mark.slow
def test_a_student_as_good_as_its_teacher_is_declared_non_inferior_most_of_the_time():
    # About 3000 judgments give this margin a power near 0.8 (0.78 measured with 2400).
    assert decisions(0.0, runs=60, judgments=3000) >= 0.7


def test_a_clearly_worse_student_is_not_declared_non_inferior():
    assert decisions(-2 * MARGIN, runs=60) <= 0.02


def test_the_statement_names_the_margin_and_the_bound():
    shown = non_inferiority(0.05, 0.08, margin=0.2)
    assert shown.non_inferior and shown.lower == pytest.approx(0.05 - 1.6449 * 0.08, abs=1e-4)
    assert "non-inferior to the teacher with margin 0.2" in shown.statement and "above -0.20 against the teacher" in shown.statement
    not_shown = non_inferiority(-0.15, 0.1, margin=0.2)
    assert not not_shown.non_inferior and "not shown" in not_shown.statement
    with pytest.raises(ValueError, match="margin must be positive"):
        non_inferiority(0.0, 0.1, margin=0)
