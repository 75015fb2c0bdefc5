"""Finding 2 of issue 11: the MLE where it exists, a baseline-free penalty only where it does not,
said in the report, and switchable from analyze, simulate and the design file."""
import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from evalplat.analysis.tables import VariantTable, judgments_from_arrays, write_judgments, write_variants

from .helpers import golden


def one_factor_table(levels, factor="team"):
    return VariantTable(ids=tuple(f"v{i + 1}" for i in range(len(levels))), factors=(factor,),
                        levels=(tuple(levels),), runs=np.arange(len(levels)).reshape(-1, 1))


def write_study(folder, table, left, right, winner, order=None):
    """variants.csv (rows in `order`) and judgments.csv; returns their paths as strings."""
    folder.mkdir(parents=True, exist_ok=True)
    judgments = judgments_from_arrays(left, right, winner)
    write_judgments(folder / "judgments.csv", judgments, table)
    order = list(range(len(table.ids))) if order is None else order
    write_variants(folder / "variants.csv", VariantTable(
        ids=tuple(table.ids[i] for i in order), factors=table.factors, levels=(tuple(table.levels[0][i] for i in order),),
        runs=np.arange(len(order)).reshape(-1, 1)))
    return str(folder / "variants.csv"), str(folder / "judgments.csv")


def analyze(folder, variants, judgments, *flags):
    call_command("analyze", *flags, variants=variants, judgments=judgments, out=str(folder / "out"))
    return json.loads((folder / "out" / "effects.json").read_text())


def baseball(tmp_path, order=None):
    case = golden("baseball_agresti.json")
    teams = [case["baseline"]] + sorted(case["estimates"])
    index = {team: i for i, team in enumerate(teams)}
    left, right, winner = [], [], []
    for game in case["games"]:
        n = game["home_wins"] + game["away_wins"]
        left += [index[game["home"]]] * n
        right += [index[game["away"]]] * n
        winner += [1] * game["home_wins"] + [-1] * game["away_wins"]
    folder = tmp_path / ("baseball" if order is None else "reordered")
    return case, teams, analyze(folder, *write_study(folder, one_factor_table(teams), left, right, winner, order))


def effect_of(result, level):
    return next(row for row in result["effects"] if row["level"] == level)


def test_analyze_reproduces_agrestis_baseball_table_to_its_printed_precision(tmp_path):
    case, teams, result = baseball(tmp_path)
    tolerance = 0.5 * 10 ** -case["decimals"]
    for team in teams[1:]:
        row = effect_of(result, team)
        assert abs(row["estimate"] - case["estimates"][team]) <= tolerance, team
        assert abs(row["std_error"] - case["std_errors"][team]) <= tolerance, team
    assert abs(result["position_bias"]["estimate"] - case["position_bias"]["estimate"]) <= tolerance
    assert abs(result["position_bias"]["std_error"] - case["position_bias"]["std_error"]) <= tolerance
    assert result["penalty"]["applied"] is False and result["prior_sd"] is None
    report = (tmp_path / "baseball" / "out" / "report.html").read_text()
    assert "plain maximum-likelihood estimates" in report


def test_another_first_row_in_variants_csv_moves_no_contrast(tmp_path):
    _, teams, first = baseball(tmp_path)
    _, _, second = baseball(tmp_path, order=[3, 1, 2, 0, 4, 5, 6])    # Detroit first: the new baseline
    assert effect_of(second, "Detroit")["baseline"]
    for team in teams:
        contrast = lambda result: (effect_of(result, team)["estimate"] - effect_of(result, "Boston")["estimate"])
        assert abs(contrast(first) - contrast(second)) < 1e-6, team


def separated_checkpoints(seed=3, n=300):
    """A 4-level factor whose level 'd' wins every judgment it is in: no MLE for d's effect."""
    table = one_factor_table(["a", "b", "c", "d"], factor="checkpoint")
    rng = np.random.default_rng(seed)
    left = rng.integers(0, 4, n)
    right = (left + rng.integers(1, 4, n)) % 4
    utility = np.array([0.0, 0.4, -0.3, 0.0])
    winner = np.where(rng.random(n) < 1 / (1 + np.exp(-(utility[left] - utility[right]))), 1, -1)
    winner = np.where(left == 3, 1, np.where(right == 3, -1, winner))
    return table, left, right, winner


def test_a_separated_factor_is_penalised_the_same_whichever_level_comes_first(tmp_path):
    table, left, right, winner = separated_checkpoints()
    first = analyze(tmp_path / "a", *write_study(tmp_path / "a", table, left, right, winner))
    second = analyze(tmp_path / "c", *write_study(tmp_path / "c", table, left, right, winner, order=[2, 0, 3, 1]))
    assert first["penalty"]["applied"] and first["penalty"]["reason"] == "separated"
    assert first["penalty"]["separating"] == ["checkpoint=d"]
    for level in "abcd":
        contrast = lambda result: effect_of(result, level)["estimate"] - effect_of(result, "b")["estimate"]
        assert abs(contrast(first) - contrast(second)) < 1e-6, level
    assert 2 < effect_of(first, "d")["estimate"] < 15
    report = (tmp_path / "a" / "out" / "report.html").read_text()
    assert "The judgments separate (checkpoint=d)" in report and "does not depend on which level" in report


def test_the_penalty_switch_on_analyze(tmp_path):
    table, left, right, winner = separated_checkpoints()
    paths = write_study(tmp_path / "s", table, left, right, winner)
    with pytest.raises(CommandError, match="maximum-likelihood estimate does not exist"):
        analyze(tmp_path / "s", *paths, "--penalty", "never")
    _, _, plain = baseball(tmp_path)
    forced = analyze(tmp_path / "forced", str(tmp_path / "baseball" / "variants.csv"),
                     str(tmp_path / "baseball" / "judgments.csv"), "--penalty", "always", "--prior-sd", "1")
    assert forced["penalty"]["applied"] and forced["penalty"]["reason"] == "asked" and forced["prior_sd"] == 1
    assert abs(effect_of(forced, "Milwaukee")["estimate"]) < abs(effect_of(plain, "Milwaukee")["estimate"]) - 0.05


def test_simulate_takes_the_design_files_analysis_table_and_the_command_line_overrides_it(tmp_path):
    import shutil
    from pathlib import Path

    examples = Path(__file__).resolve().parents[2] / "designs" / "examples"
    folder = tmp_path / "design"
    shutil.copytree(examples, folder)
    design = folder / "honesty-tone.toml"
    design.write_text(design.read_text() + '\n[analysis]\npenalty = "always"\nprior_sd = 1.5\n')
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"uncertainty": {"flag": 0.8}}))
    call_command("simulate", str(design), judgments=400, truth=str(truth), seed=1, out=str(tmp_path / "a"))
    penalised = json.loads((tmp_path / "a" / "effects.json").read_text())
    assert penalised["penalty"] == {"setting": "always", "applied": True, "reason": "asked", "sd": 1.5,
                                    "separating": []}
    call_command("simulate", str(design), "--penalty", "auto", judgments=400, truth=str(truth), seed=1,
                 out=str(tmp_path / "b"))
    assert json.loads((tmp_path / "b" / "effects.json").read_text())["penalty"]["applied"] is False
