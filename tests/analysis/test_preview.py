"""The typed preview that both `manage.py plan` and the console's Check render."""
import dataclasses
import io
from pathlib import Path

import pytest
from django.core.management import call_command

from designs.aliasing import AliasReport
from designs.spec import DesignError, load_design, parse_design
from evalplat.analysis.preview import DesignPreview, preview_design

EXAMPLES = Path(__file__).resolve().parents[2] / "designs" / "examples"


@pytest.fixture(scope="module")
def honesty():
    return preview_design(load_design(EXAMPLES / "honesty-tone.toml"))


def test_it_holds_what_plan_reports(honesty):
    assert isinstance(honesty, DesignPreview) and isinstance(honesty.aliasing, AliasReport)
    assert honesty.matrix.array_name.startswith("L8") and honesty.matrix.n_runs == 16
    assert [v.code for v in honesty.variants][:3] == ["v1", "v2", "v3"] and len(honesty.variants) == 16
    assert honesty.variants[0].levels == ("none", "none", "neutral", "none", "open", "prose", "low")
    assert honesty.variants[0].settings == (("temperature", 0.2),)
    assert [role for role, _ in honesty.variants[0].messages] == ["system", "user"]
    assert honesty.first_query.id == "astrology-dating"
    assert honesty.n_answers == 16 * 14 * 1
    assert len(honesty.efficiency) == 7 and all(0 < e <= 1.0 + 1e-9 for e in honesty.efficiency)
    assert honesty.judgments_needed > 0 and honesty.halfwidth == 0.25


def test_it_is_frozen(honesty):
    with pytest.raises(dataclasses.FrozenInstanceError):
        honesty.power = None


def test_plan_prints_the_previews_figures(honesty):
    out = io.StringIO()
    call_command("plan", str(EXAMPLES / "honesty-tone.toml"), stdout=out)
    text = out.getvalue()
    assert f"about {honesty.judgments_needed}" in text
    for name, efficiency in honesty.factor_efficiency:
        assert f"  {name:<16} {efficiency:.2f}" in text


def test_an_array_that_cannot_hold_the_factors_is_a_problem_at_its_line():
    text = (EXAMPLES / "honesty-tone.toml").read_text().replace('array = "auto"', 'array = "L4"')
    design = parse_design(text.replace('instructions = "instructions.md"\n', ""), "h.toml")
    with pytest.raises(DesignError) as caught:
        preview_design(design)
    [problem] = caught.value.problems
    assert str(problem).startswith("h.toml:9: array: ")
