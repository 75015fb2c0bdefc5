"""manage.py simulate and the power analysis that `plan` calls."""
import json
import time
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from designs.matrix import design_matrix
from designs.spec import load_design
from evalplat.analysis.estimate import Settings, estimate_effects
from evalplat.analysis.management.commands.simulate import Command as Simulate
from evalplat.analysis.power import CALIBRATION_EFFECT, judgments_needed, pilot_items
from evalplat.analysis.simulate import SimulatedRaters, simulate_judgments
from evalplat.analysis.tables import treatment_dummies

EXAMPLE = Path(__file__).resolve().parents[2] / "designs" / "examples" / "honesty-tone.toml"


def test_simulate_schedules_judges_and_analyses(tmp_path):
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"uncertainty": {"flag": 0.8}, "tone": {"neutral": 0.1, "warm": -0.4}}))
    out = tmp_path / "out"
    call_command(Simulate(), str(EXAMPLE), judgments=1500, truth=str(truth), seed=3, out=str(out))
    assert sorted(p.name for p in out.iterdir()) == ["effects.csv", "effects.json", "judgments.csv",
                                                    "report.html", "variants.csv"]
    result = json.loads((out / "effects.json").read_text())
    effect = {(row["factor"], row["level"]): row for row in result["effects"]}
    assert effect["uncertainty", "flag"]["ci_low"] > 0.3
    assert effect["tone", "warm"]["ci_high"] < 0           # -0.5 relative to the baseline
    truths = {(t["factor"], t["level"]): t["effect"] for t in result["simulation"]["truth"]}
    assert truths["tone", "warm"] == pytest.approx(-0.5)
    assert result["n_judgments"] == 1500
    assert len((out / "judgments.csv").read_text().splitlines()) == 1501


def test_a_truth_naming_an_unknown_level_is_an_error(tmp_path):
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"uncertainty": {"maybe": 0.8}}))
    with pytest.raises(CommandError, match=r"truth.json: uncertainty: unknown level 'maybe'"):
        call_command(Simulate(), str(EXAMPLE), judgments=100, truth=str(truth), seed=0, out=str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_judgments_needed_is_quick_and_scales_with_the_target():
    design = load_design(EXAMPLE)
    # plan builds the design matrix (and with it the array catalogue, whose pydoe import pulls in
    # scipy.stats, about a second) before it asks for the judgments needed; so does this test.
    design_matrix(design.levels_per_factor, design.array, design.foldover)
    started = time.perf_counter()
    wide = judgments_needed(design, target_halfwidth=0.3, seed=0)
    elapsed = time.perf_counter() - started
    narrow = judgments_needed(design, target_halfwidth=0.15, seed=0)
    assert elapsed < 5
    assert 3.2 < narrow / wide < 4.8             # a half as wide interval needs about four times as many


@pytest.mark.slow
def test_judgments_needed_delivers_the_target_half_width():
    design = load_design(EXAMPLE)
    needed = judgments_needed(design, target_halfwidth=0.25, seed=0)
    runs = design_matrix(design.levels_per_factor, design.array, design.foldover).runs
    dummies = treatment_dummies(runs, design.levels_per_factor)
    rater, query, left, right = pilot_items(design, runs, seed=5, n_judgments=needed)
    rng = np.random.default_rng(5)
    widths = []
    for _ in range(10):
        judgments, _ = simulate_judgments(dummies, CALIBRATION_EFFECT * (-1.0) ** np.arange(dummies.shape[1]),
                                          rater, query, left, right, SimulatedRaters(scale=design.rating.scale), rng,
                                          n_queries=len(design.queries))
        widths.append(1.96 * estimate_effects(dummies, judgments, Settings()).std_errors()[:-1])
    # The expected half-width of the least precise effect is on target (any one data set's
    # widest interval is noisier than that).
    assert 0.21 < np.max(np.mean(widths, axis=0)) < 0.29
