"""The design file's [analysis] table: validated like every other field, FILE:LINE: FIELD: message."""
import pytest

from designs.spec import AnalysisSettings, DesignError, analysis_from_text, parse_design

from test_spec import MINIMAL  # tests/designs is on the path (no __init__.py: pytest prepends it)

# test_spec's minimal design with a second factor, so interactions have two to name.
BASE = MINIMAL.replace("Be {style}.", "Be {style} and {tone}.") + """[[factors]]
name = "tone"
[factors.levels]
plain = "plain"
warm = "warm"
"""


def problems(table):
    with pytest.raises(DesignError) as caught:
        parse_design(BASE + table, path="d.toml")
    return [str(p) for p in caught.value.problems]


def test_defaults_without_the_table():
    assert parse_design(BASE, path="d.toml").analysis == AnalysisSettings(penalty="auto", prior_sd=2.5, interactions=())


def test_a_full_table_parses_and_reads_back_from_the_stored_text():
    text = BASE + '[analysis]\npenalty = "always"\nprior_sd = 1\ninteractions = [["style", "tone"]]\n'
    design = parse_design(text, path="d.toml")
    assert design.analysis == AnalysisSettings(penalty="always", prior_sd=1.0, interactions=(("style", "tone"),))
    assert analysis_from_text(design.text) == design.analysis


def test_every_problem_is_reported_with_its_line():
    assert problems('[analysis]\npenalty = "sometimes"\nprior_sd = 0\nseed = 3\n'
                    'interactions = [["style", "style"], ["style", "colour"], "tone", ["tone", "style"], '
                    '["style", "tone"]]\n') == [
        "d.toml:23: analysis.seed: unknown field (known: interactions, penalty, prior_sd)",
        "d.toml:21: analysis.penalty: 'sometimes': expected one of auto, always, never",
        "d.toml:22: analysis.prior_sd: must be between 0.1 and 100 (log-odds)",
        "d.toml:24: analysis.interactions[1]: an interaction needs two different factors, got 'style' twice",
        "d.toml:24: analysis.interactions[2]: unknown factor 'colour' (factors: style, tone)",
        'd.toml:24: analysis.interactions[3]: expected a pair of factor names such as ["tone", "length"], '
        "got 'tone' (a string)",
        "d.toml:24: analysis.interactions[5]: the interaction style x tone is listed already (interactions[4])",
    ]


def test_wrong_kinds():
    assert problems('[analysis]\npenalty = 1\nprior_sd = "wide"\ninteractions = "style"\n') == [
        "d.toml:21: analysis.penalty: expected a string, got 1 (a whole number)",
        "d.toml:22: analysis.prior_sd: expected a number, got 'wide' (a string)",
        'd.toml:23: analysis.interactions: expected a list of factor pairs such as [["tone", "length"]], '
        "got 'style' (a string)",
    ]


def test_the_readme_documents_every_analysis_key_and_flag():
    from dataclasses import fields
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("**`[analysis]`"):]
    assert all(f"`{f.name}`" in section[:2000] for f in fields(AnalysisSettings))
    assert "--penalty auto|always|never" in readme and "--prior-sd" in readme
