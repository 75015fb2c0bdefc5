"""Aliasing reports checked against the known alias structures of classical designs."""
import json

import numpy as np
import pytest

from designs.aliasing import alias_report
from designs.matrix import design_matrix


def report(levels, names=None, **options):
    design = design_matrix(levels, **options)
    return alias_report(design.runs, design.levels, names or "ABCDEFGHIJKLMNOP"[: len(levels)])


def by_effect(aliases):
    return {"×".join(a.effect): a for a in aliases}


def test_l4_aliases_each_main_effect_fully_with_the_other_interaction():
    result = report([2, 2, 2])
    a = by_effect(result.main_effects[0].interactions)
    assert list(a) == ["B×C"]
    assert a["B×C"].full and abs(a["B×C"].correlation) == pytest.approx(1)
    assert not any(i.estimable for i in result.interactions)
    assert "  A: fully aliased with B×C (r = -1.00)" in result.lines()


def test_foldover_frees_main_effects_of_a_resolution_three_design():
    result = report([2, 2, 2], foldover=True)
    assert all(not m.interactions and not m.mains for m in result.main_effects)
    assert all(i.estimable and i.clear for i in result.interactions)
    assert result.n_runs == 8
    assert "  A: clear of two-factor interactions" in result.lines()


def test_resolution_four_l8_keeps_mains_clear_and_aliases_interactions_in_pairs():
    result = report([2, 2, 2, 2])
    assert all(not m.interactions for m in result.main_effects)
    partners = {"×".join(i.factors): [("×".join(a.effect), a.full) for a in i.interactions]
                for i in result.interactions}
    assert partners == {"A×B": [("C×D", True)], "A×C": [("B×D", True)], "A×D": [("B×C", True)],
                        "B×C": [("A×D", True)], "B×D": [("A×C", True)], "C×D": [("A×B", True)]}
    assert "  aliased with each other: A×B = C×D" in result.lines()


def test_plackett_burman_twelve_aliases_partially_with_one_third():
    result = report([2] * 11)
    for main in result.main_effects:
        assert len(main.interactions) == 45  # every interaction not involving the factor
        assert np.allclose([abs(a.correlation) for a in main.interactions], 1 / 3)
        assert not any(a.full for a in main.interactions)


@pytest.mark.parametrize("levels", [[2, 2, 2], [2, 3, 4], [3, 3]])
def test_full_factorial_estimates_everything(levels):
    result = report(levels, array="full")
    assert all(not m.interactions and not m.mains for m in result.main_effects)
    assert all(i.clear and i.efficiency == pytest.approx(1) for i in result.interactions)
    assert [i.df for i in result.interactions] == [
        (levels[f] - 1) * (levels[g] - 1) for f in range(len(levels)) for g in range(f + 1, len(levels))]


def test_three_level_l9_contains_a_main_effect_in_an_interaction():
    result = report([3, 3, 3, 3])
    a = by_effect(result.main_effects[0].interactions)
    assert set(a) == {"B×C", "B×D", "C×D"}
    assert all(alias.full and alias.correlation is None for alias in a.values())
    assert not any(i.estimable for i in result.interactions)


def test_dropped_mirror_shows_as_correlated_main_effects():
    result = report([2, 2, 2, 2, 3], foldover=True)  # 23 runs: one mirror coincides
    assert any(m.mains for m in result.main_effects)
    assert any("correlated with main effects" in line for line in result.lines())


def test_report_is_json_and_names_its_method():
    result = report([2] * 5 + [3] * 2, names=["tone", "hedge", "length", "persona", "format",
                                              "examples", "refusal"])
    data = json.loads(json.dumps(result.as_dict()))
    assert data["runs"] == 36 and data["method"].startswith("canonical correlations")
    assert data["factors"][0] == "tone"
    assert len(data["interactions"]) == 21
    assert result.lines()[0].startswith("Aliasing in 36 runs — method: canonical correlations")
    assert data["lines"] == result.lines()  # stored with the experiment, shown as is


def test_long_alias_lists_are_cut_in_lines_but_not_in_the_data():
    result = report([2] * 11)
    assert result.lines()[2].endswith("… (45 in all)")
    assert len(result.as_dict()["main_effects"][0]["aliased_interactions"]) == 45


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError, match="must describe the same factors"):
        alias_report(np.zeros((4, 3), dtype=int), [2, 2], ["A", "B"])
