"""The paired-comparison model against known answers and an independent implementation."""
import numpy as np
import pytest
import statsmodels.api as sm

from evalplat.analysis.estimate import Settings, estimate_effects
from evalplat.analysis.model import Penalty, Scale, collapse, fit_pairs, loglik_grad_hess, pair_data
from evalplat.analysis.simulate import SimulatedRaters, simulate_judgments
from evalplat.analysis.tables import VariantTable, judgments_from_arrays

from .helpers import golden, random_pairs, two_level_table


# Columns 0-1 as one three-level factor, so the centred penalty's off-diagonal terms are checked.
PENALTY = Penalty(sd=2.5, factor_columns=((0, 2), (2, 3), (3, 4)))


def one_factor_table(levels):
    """One factor whose levels are the variants (plain Bradley-Terry on items)."""
    return VariantTable(ids=tuple(f"v{i + 1}" for i in range(len(levels))), factors=("item",),
                        levels=(tuple(levels),), runs=np.arange(len(levels)).reshape(-1, 1))


def expand(pairs):
    """(left, right, left wins, right wins) counts -> judgment arrays."""
    left, right, winner = [], [], []
    for l, r, wins, losses in pairs:
        left += [l] * (wins + losses)
        right += [r] * (wins + losses)
        winner += [1] * wins + [-1] * losses
    return np.array(left), np.array(right), np.array(winner)


def test_two_variants_give_log_of_wins_over_losses():
    case = golden("two_variants.json")
    counts = case["counts"]
    left, right, winner = expand([(1, 0, counts["new_left_wins"], counts["new_left_loses"]),
                                  (0, 1, counts["new_right_loses"], counts["new_right_wins"])])
    table = one_factor_table(case["levels"])
    fit = fit_pairs(pair_data(table.dummies(), left, right, winner, np.zeros(len(left))))
    wins = counts["new_left_wins"] + counts["new_right_wins"]
    losses = counts["new_left_loses"] + counts["new_right_loses"]
    assert np.isclose(fit.beta[0], np.log(wins / losses))
    assert np.isclose(fit.gamma, 0.0, atol=1e-10)
    assert np.isclose(fit.std_errors()[0], np.sqrt(1 / wins + 1 / losses))


def test_agresti_baseball_with_home_advantage_matches_published_estimates():
    case = golden("baseball_agresti.json")
    teams = [case["baseline"]] + sorted(case["estimates"])
    index = {team: i for i, team in enumerate(teams)}
    left, right, winner = expand([(index[g["home"]], index[g["away"]], g["home_wins"], g["away_wins"])
                                  for g in case["games"]])
    table = one_factor_table(teams)
    fit = fit_pairs(pair_data(table.dummies(), left, right, winner, np.zeros(len(left))))
    tolerance = 0.5 * 10 ** -case["decimals"]
    assert np.allclose(fit.beta, [case["estimates"][t] for t in teams[1:]], atol=tolerance)
    assert np.allclose(fit.std_errors()[:-1], [case["std_errors"][t] for t in teams[1:]], atol=tolerance)
    assert np.isclose(fit.gamma, case["position_bias"]["estimate"], atol=tolerance)
    assert np.isclose(fit.std_errors()[-1], case["position_bias"]["std_error"], atol=tolerance)


def test_binary_fit_matches_statsmodels_logit():
    rng = np.random.default_rng(7)
    table = two_level_table()
    dummies = table.dummies()
    _, _, left, right = random_pairs(8, 1, 3000, 3000, rng)
    eta = (dummies[left] - dummies[right]) @ [0.5, -0.3, 0.2, 0.0] + 0.2
    winner = np.where(rng.random(3000) < 1 / (1 + np.exp(-eta)), 1, -1)
    fit = fit_pairs(pair_data(dummies, left, right, winner, np.zeros(3000)))
    reference = sm.Logit((winner > 0).astype(float),
                         np.column_stack([dummies[left] - dummies[right], np.ones(3000)])).fit(disp=0)
    assert np.allclose(fit.params, reference.params, atol=1e-8)
    assert np.allclose(fit.std_errors(), reference.bse, atol=1e-8)


def _mixed_ordinal_data(rng, n=600):
    dummies = two_level_table().dummies()
    _, _, left, right = random_pairs(8, 1, n, n, rng)
    winner = rng.choice([-1, 0, 1], n)
    strength = np.where(winner == 0, 0, rng.choice([0, 1, 2], n))   # some strengths left blank
    return dummies, left, right, winner, strength


@pytest.mark.parametrize("ties,strength", [(True, True), (True, False), (False, True)])
def test_gradient_and_hessian_match_finite_differences(ties, strength):
    rng = np.random.default_rng(3)
    dummies, left, right, winner, grade = _mixed_ordinal_data(rng)
    if not ties:
        winner = np.where(winner == 0, 1, winner)
    if not strength:
        grade = np.zeros_like(grade)
    data = pair_data(dummies, left, right, winner, grade, scale=Scale(ties=ties, strength=strength))
    p, m = 4, data.scale.threshold_matrix().shape[1]
    params = np.concatenate([rng.normal(0, 0.3, p + 1), np.sort(rng.uniform(0.3, 1.5, m))])
    value, grad, hess, _ = loglik_grad_hess(data, params, p, penalty=PENALTY)
    step = 1e-6
    for j in range(len(params)):
        shift = np.zeros(len(params))
        shift[j] = step
        up = loglik_grad_hess(data, params + shift, p, penalty=PENALTY)
        down = loglik_grad_hess(data, params - shift, p, penalty=PENALTY)
        assert np.isclose(grad[j], (up[0] - down[0]) / (2 * step), rtol=1e-5, atol=1e-5)
        assert np.allclose(hess[:, j], (up[1] - down[1]) / (2 * step), rtol=1e-4, atol=1e-4)


def test_collapsed_rows_fit_exactly_like_one_row_per_judgment():
    rng = np.random.default_rng(5)
    dummies, left, right, winner, strength = _mixed_ordinal_data(rng)
    plain = pair_data(dummies, left, right, winner, strength)
    lo, hi = plain.scale.intervals(winner, strength)
    rows = collapse(left, right, lo, hi, np.ones(len(left)), dummies, plain.scale)
    assert len(rows.weight) < len(left)
    one, many = fit_pairs(plain), fit_pairs(rows)
    assert np.allclose(one.params, many.params) and np.allclose(one.information, many.information)


def test_ordinal_fit_recovers_the_truth_on_a_large_sample():
    rng = np.random.default_rng(11)
    table = two_level_table()
    truth = np.array([0.6, -0.4, 0.25, 0.0])
    rater, query, left, right = random_pairs(8, 50, 40000, 40, rng)
    raters = SimulatedRaters(careless_share=0.0, answer_sd=0.0, position_bias=0.3)
    judgments, _ = simulate_judgments(table.dummies(), truth, rater, query, left, right, raters, rng)
    estimate = estimate_effects(table.dummies(), judgments, Settings(careless=False))
    assert np.allclose(estimate.beta, truth, atol=4 * estimate.std_errors()[:-1])
    assert np.isclose(estimate.gamma, 0.3, atol=0.05)
    assert np.allclose(estimate.fit.thresholds, [raters.tie_threshold, raters.strong_threshold], atol=0.05)


def test_a_level_that_always_wins_gets_a_finite_estimate():
    table = two_level_table(names=("a", "b"), runs=[[0, 0], [1, 0], [0, 1], [1, 1]])
    left, right = np.array([1, 0, 3, 2, 1, 2] * 10), np.array([0, 1, 2, 3, 2, 1] * 10)
    alt_a = table.dummies()[:, 0]
    winner = np.where(alt_a[left] > alt_a[right], 1, np.where(alt_a[left] < alt_a[right], -1, 1))
    winner[4::6] = np.where(np.arange(10) % 2, 1, -1)  # b differs here; keep b undecided
    judgments = judgments_from_arrays(left, right, winner, query=np.arange(60) % 6)
    estimate = estimate_effects(table.dummies(), judgments)
    assert np.all(np.isfinite(estimate.beta)) and 2 < estimate.beta[0] < 15
