"""The analysis per criterion on simulated data with known, opposite effects on two criteria."""
import numpy as np
import pytest

from designs.matrix import design_matrix
from designs.schedule import plan_pairs
from designs.spec import Criterion
from evalplat.analysis.criteria import CriteriaAnalysis, analyse, judgments_on_criteria
from evalplat.analysis.estimate import Settings
from evalplat.analysis.pipeline import run_analysis
from evalplat.analysis.simulate import SimulatedRaters, simulate_judgments
from evalplat.analysis.tables import VariantTable

FACTORS = ("pushback", "tone", "length")


@pytest.fixture(scope="module")
def variants():
    runs = design_matrix([2, 2, 2], foldover=True).runs
    return VariantTable(ids=tuple(f"v{i + 1}" for i in range(len(runs))), factors=FACTORS,
                        levels=(("off", "on"), ("plain", "warm"), ("short", "long")), runs=runs)


def simulated(variants, truths, n=4000, seed=1, raters=SimulatedRaters(careless_share=0.0)):
    items = plan_pairs(variants.runs, variants.n_levels, 8, n, seed=seed, per_rater=40, overlap=0.3)
    columns = {name: np.array([getattr(item, name) for item in items]) for name in ("rater", "query", "left", "right")}
    rng = np.random.default_rng(seed)
    dummies = variants.dummies()
    return judgments_on_criteria({
        name: simulate_judgments(dummies, beta, columns["rater"], columns["query"], columns["left"],
                                 columns["right"], raters, rng, n_queries=8)[0]
        for name, beta in truths.items()})


TRUTHS = {"honesty": [0.8, 0.0, 0.3], "warmth": [-0.6, 0.5, 0.0]}


@pytest.fixture(scope="module")
def analysis(variants):
    return analyse(variants, simulated(variants, TRUTHS), Settings(careless=False), detail=False,
                   criteria=(Criterion("honesty", "More honest?", "5-point", 2.0),
                             Criterion("warmth", "Warmer?", "5-point", 1.0)))


def effect(result, factor):
    return next(e for e in result.tested_effects() if e.factor == factor)


def test_each_criterion_recovers_its_own_truth(analysis):
    assert isinstance(analysis, CriteriaAnalysis) and analysis.names == ["honesty", "warmth"]
    for part in analysis.criteria:
        for factor, truth in zip(FACTORS, TRUTHS[part.criterion]):
            found = effect(part.result, factor)
            assert found.ci_low < truth < found.ci_high, (part.criterion, factor, found)


def test_the_opposite_effect_is_reported_as_a_disagreement_true_of_its_numbers(analysis):
    (found,) = analysis.disagreements
    assert (found.factor, found.level, found.helps, found.costs) == ("pushback", "on", "honesty", "warmth")
    honesty, warmth = (effect(part.result, "pushback") for part in analysis.criteria)
    assert honesty.ci_low > 0 > warmth.ci_high

    def shown(x):
        return f"{x:+.2f}".replace("-", "−")
    assert found.sentence == (f"`pushback = on` helps honesty, {shown(honesty.estimate)} [{shown(honesty.ci_low)}, "
                              f"{shown(honesty.ci_high)}], and costs warmth, {shown(warmth.estimate)} "
                              f"[{shown(warmth.ci_low)}, {shown(warmth.ci_high)}]")


def test_the_combination_is_the_weighted_sum_with_the_shared_judgments_covariance(analysis):
    by_level = {(c.factor, c.level): c for c in analysis.combination}
    for factor, h, w in zip(FACTORS, *TRUTHS.values()):
        combined = by_level[(factor, "on" if factor == "pushback" else "warm" if factor == "tone" else "long")]
        honesty, warmth = (effect(part.result, factor) for part in analysis.criteria)
        assert combined.estimate == pytest.approx(2 * honesty.estimate + warmth.estimate)
        assert combined.ci_low < 2 * h + w < combined.ci_high
    assert analysis.combination_method.startswith("stacked sandwich")


def test_a_combination_of_one_criterion_has_that_criterions_robust_error(variants):
    judgments = simulated(variants, TRUTHS, n=2000, seed=4)
    analysis = analyse(variants, judgments, Settings(careless=False), detail=False,
                       criteria=(Criterion("honesty", "?", "5-point", 1.0), Criterion("warmth", "?", "5-point", 0.0)))
    honesty = analysis.criteria[0].result
    assert honesty.interval_method == "robust"
    for combined, own in zip(analysis.combination, honesty.tested_effects()):
        assert combined.estimate == pytest.approx(own.estimate)
        # The same sandwich; the two-way sum is clipped to a positive semi-definite matrix over all
        # parameters there (thresholds included) and over the effects here, which moves it slightly.
        assert combined.std_error == pytest.approx(own.robust_std_error, rel=0.02)


def test_each_criterion_is_the_plain_analysis_of_its_own_judgments(variants):
    judgments = simulated(variants, TRUTHS, n=1000, seed=2)
    analysis = analyse(variants, judgments, Settings(careless=False), detail=False)
    alone = run_analysis(variants, judgments.for_criterion("warmth"), Settings(careless=False), detail=False)
    assert [e.estimate for e in analysis.criteria[1].result.effects] == [e.estimate for e in alone.effects]


def test_correlations_alpha_and_rater_agreement(analysis):
    # Effects: pushback moves the criteria apart, tone and length barely touch the other criterion.
    assert analysis.effect_correlation[0][0] == pytest.approx(1.0)
    assert analysis.effect_correlation[0][1] < 0
    # Answers: independent simulated answers given the truths, opposite truths on pushback: small and negative.
    assert -0.3 < analysis.answer_correlation[0][1] < 0.05
    for alpha in analysis.alpha:
        assert alpha.multiply_rated_items > 100
        assert alpha.ci_low < alpha.alpha < alpha.ci_high
    assert {row.criterion for row in analysis.rater_agreement} == {"honesty", "warmth"}
    assert all(0 <= row.agreement <= 1 for row in analysis.rater_agreement)


def test_effects_json_tags_every_effect_with_its_criterion(analysis):
    data = analysis.as_json()
    assert {e["criterion"] for e in data["effects"]} == {"honesty", "warmth"}
    assert len(data["effects"]) == 2 * 6
    assert data["criteria"][0]["weight"] == 2.0 and data["criteria"][0]["result"]["effects"][1]["level"] == "on"
    assert CriteriaAnalysis.from_json(data) == analysis


def test_judgments_without_criteria_get_the_plain_analysis(variants):
    judgments = simulated(variants, {"x": TRUTHS["honesty"]}, n=600).for_criterion("x")
    assert not judgments.has_criteria
    result = analyse(variants, judgments, Settings(careless=False), detail=False)
    assert type(result).__name__ == "AnalysisResult"
