"""Finding 1 of issue 11: ordered thresholds, and a fit that says when it did not converge."""
import json

import numpy as np
from django.core.management import call_command

from evalplat.analysis.estimate import Settings
from evalplat.analysis.model import Scale, fit_pairs, pair_data
from evalplat.analysis.pipeline import run_analysis
from evalplat.analysis.tables import judgments_from_arrays, write_judgments, write_variants

from .helpers import random_pairs, two_level_table


def extremes_only_pilot(seed=4, n=240):
    """A small pilot on the 5-point scale whose raters use only "much better" and "about the same".

    Latent preference = effects + logistic noise; |latent| < 0.8 is "about the same", else
    "much better" for the side it favours: the middle "better" category is never used."""
    table = two_level_table()
    rng = np.random.default_rng(seed)
    rater, query, left, right = random_pairs(8, 12, n, 20, rng)
    latent = (table.dummies()[left] - table.dummies()[right]) @ [1.0, -0.6, 0.4, 0.0] + rng.logistic(size=n)
    winner = np.where(np.abs(latent) < 0.8, 0, np.sign(latent)).astype(int)
    strength = np.where(winner == 0, 0, 2)
    raters = [f"r{i + 1}" for i in range(rater.max() + 1)]
    extremes = judgments_from_arrays(left, right, winner, strength, query, rater, raters=raters)
    recoded = judgments_from_arrays(left, right, winner, np.where(winner == 0, 0, 1), query, rater, raters=raters)
    return table, extremes, recoded


def test_a_never_used_middle_category_gives_the_recoded_effects(tmp_path):
    table, extremes, recoded = extremes_only_pilot()
    results = {}
    for name, judgments in (("extremes", extremes), ("recoded", recoded)):
        write_variants(tmp_path / "variants.csv", table)
        write_judgments(tmp_path / f"{name}.csv", judgments, table)
        call_command("analyze", variants=str(tmp_path / "variants.csv"), judgments=str(tmp_path / f"{name}.csv"),
                     out=str(tmp_path / name))
        results[name] = json.loads((tmp_path / name / "effects.json").read_text())
    got, want = results["extremes"], results["recoded"]
    assert got["converged"] and want["converged"]
    t = got["scale"]["thresholds"]
    assert 0 <= t[0] <= t[1], t
    for a, b in zip(got["effects"], want["effects"]):
        assert abs(a["estimate"] - b["estimate"]) < 0.02, (a, b)
        assert abs(a["std_error"] - b["std_error"]) < 0.02, (a, b)
    assert abs(want["effects"][1]["estimate"] - 1.0) < 0.5     # the effect is there, not ~0 (prior only)
    assert want["effects"][1]["std_error"] < 0.6


def test_thresholds_cannot_cross_on_any_scale():
    table, extremes, _ = extremes_only_pilot(seed=9)
    for ties, strength in ((True, True), (True, False), (False, True)):
        winner = extremes.winner if ties else np.where(extremes.winner == 0, 1, extremes.winner)
        grade = extremes.strength if strength else np.zeros(len(winner))
        fit = fit_pairs(pair_data(table.dummies(), extremes.left, extremes.right, winner, grade,
                                  scale=Scale(ties=ties, strength=strength)))
        cuts = fit.scale.threshold_matrix() @ fit.thresholds
        assert fit.converged and np.all(np.diff(cuts) >= 0), (ties, strength, cuts)


def test_a_fit_stopped_by_the_step_cap_says_it_did_not_converge(monkeypatch):
    from evalplat.analysis import model

    table, extremes, _ = extremes_only_pilot()
    monkeypatch.setattr(model, "MAX_NEWTON_STEPS", 1)
    result = run_analysis(table, extremes, Settings(careless=False), detail=False)
    assert not result.converged
    assert any("did not converge" in note for note in result.notes)


def test_a_mixture_stopped_by_its_em_cap_says_it_did_not_converge(monkeypatch):
    from evalplat.analysis import careless

    table, extremes, _ = extremes_only_pilot()
    monkeypatch.setattr(careless, "MAX_EM_STEPS", 1)
    result = run_analysis(table, extremes, Settings(), detail=False)
    assert result.careless.fitted and not result.converged
