"""manage.py simulate and the power analysis that `plan` calls."""
import json
import time
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from designs.matrix import design_matrix
from designs.spec import load_design
from evalplat.analysis.management.commands.simulate import Command as Simulate
from evalplat.analysis.power import CALIBRATION_EFFECT, judgments_needed
from evalplat.analysis.simulate import SimulatedRaters, simulate_judgments

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
    assert elapsed < 10          # under load: about 3 s on an idle core (32 simulated studies)
    # A half as wide interval needs about four times as many; the simulation check (whose own
    # Monte-Carlo error is added to the target) and the degrees of freedom move it a little.
    assert 3.2 < narrow / wide < 5.6


@pytest.mark.slow
@pytest.mark.parametrize("name", ["honesty-tone", "science-feedback"])
def test_at_plans_number_the_mean_widest_reported_half_width_is_on_target(name):
    """Issue 11, finding 3: plan promised +/-0.25 and analyze delivered +/-0.26-0.28.

    The studies are laid out as the rating app would (per_rater items of which gold_rate are
    attention items, overlap repeats), on schedules plan never saw, and analysed by run_analysis."""
    from evalplat.analysis.pipeline import run_analysis
    from evalplat.analysis.management.commands.simulate import design_variants
    from evalplat.analysis.power import effect_items_per_rater, power_plan

    design = load_design(EXAMPLE.parent / f"{name}.toml")
    plan = power_plan(design, target_halfwidth=0.25, seed=0)
    assert plan.judgments == plan.effect_judgments + plan.attention_items
    assert plan.raters == -(-plan.effect_judgments // effect_items_per_rater(design.rating))
    matrix, variants = design_variants(design)
    from designs.schedule import plan_pairs

    widest = []
    for replicate in range(16):
        items = plan_pairs(matrix.runs, design.levels_per_factor, len(design.queries), plan.effect_judgments,
                           seed=100 + replicate, per_rater=effect_items_per_rater(design.rating),
                           overlap=design.rating.overlap)
        rater, query, left, right = np.array([(i.rater, i.query, i.left, i.right) for i in items]).T
        truth = CALIBRATION_EFFECT * (-1.0) ** np.arange(variants.dummies().shape[1])
        judgments, _ = simulate_judgments(variants.dummies(), truth, rater, query, left, right,
                                          SimulatedRaters(scale=design.rating.scale), np.random.default_rng(replicate),
                                          n_queries=len(design.queries))
        result = run_analysis(variants, judgments, detail=False)
        widest.append(max((row.ci_high - row.ci_low) / 2 for row in result.tested_effects()))
    assert np.mean(widest) <= 0.25, (plan, np.mean(widest))


def test_plan_says_what_it_assumed():
    import io

    out = io.StringIO()
    call_command("plan", str(EXAMPLE), stdout=out)
    text = out.getvalue().split("Judgments needed")[1]
    for said in ("raters doing 40 items each", "attention items", "Student's t on", "degrees of freedom",
                 "random clickers", "simulated studies", "target +/-0.25"):
        assert said in text, said
