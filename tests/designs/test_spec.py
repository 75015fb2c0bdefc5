"""Design files that are valid: what they parse into."""
from pathlib import Path

import pytest

from designs.spec import DEFAULT_INSTRUCTIONS, DesignError, GenerationSettings, load_design, parse_design, placeholders

EXAMPLES = sorted((Path(__file__).parents[2] / "designs" / "examples").glob("*.toml"))

MINIMAL = """
name = "minimal"
[prompt]
system = "Be {style}."
[generation]
model = "m"
[[factors]]
name = "style"
[factors.levels]
brief = "brief"
thorough = "thorough"
[[queries]]
id = "q1"
text = "Why?"
"""


def test_there_are_at_least_two_examples():
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_is_valid_and_realistic(path):
    design = load_design(path)
    assert 6 <= len(design.factors) <= 8
    assert len(design.queries) >= 12
    assert len({q.category for q in design.queries}) >= 3
    assert design.rating.instructions != DEFAULT_INSTRUCTIONS  # each ships its own instructions.md


def test_defaults_fill_what_a_minimal_design_leaves_out():
    design = parse_design(MINIMAL, "minimal.toml")
    assert design.title == "minimal"
    assert design.array == "auto" and design.foldover is False
    assert design.user_template == "{query}"
    assert design.generation == GenerationSettings(model="m", max_tokens=512, temperature=0.7, top_p=1.0,
                                                   samples=1, seed=0, logprobs=0)
    assert design.rating.scale == "5-point" and design.rating.instructions == DEFAULT_INSTRUCTIONS


def test_levels_keep_file_order_and_the_first_is_the_baseline():
    design = parse_design(MINIMAL, "minimal.toml")
    factor = design.factor("style")
    assert [level.name for level in factor.levels] == ["brief", "thorough"]
    assert factor.baseline.name == "brief"
    assert design.levels_per_factor == [2]


def test_integer_values_are_accepted_for_a_float_setting():
    text = MINIMAL + '\n[[factors]]\nname = "t"\ntarget = "generation.temperature"\n[factors.levels]\nlow = 0\nhigh = 1\n'
    design = parse_design(text, "m.toml")
    assert [level.value for level in design.factor("t").levels] == [0.0, 1.0]
    assert all(isinstance(level.value, float) for level in design.factor("t").levels)


def test_the_hash_identifies_the_exact_text():
    a = parse_design(MINIMAL, "a.toml")
    b = parse_design(MINIMAL + "\n# a comment\n", "a.toml")
    assert a.sha256 != b.sha256 and len(a.sha256) == 64


def test_literal_braces_are_not_placeholders():
    assert placeholders("Use {{json}} for {style} at {query}") == ["style", "query"]


def test_a_missing_file_is_a_design_error():
    with pytest.raises(DesignError, match="no such file"):
        load_design("does/not/exist.toml")


def test_every_generation_key_is_a_typed_setting():
    from dataclasses import fields

    from designs.spec import GENERATION_KEYS

    assert set(GENERATION_KEYS) == {f.name for f in fields(GenerationSettings)}


def test_an_adapter_factor_takes_adapter_directories(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text('name = "a"\n[prompt]\nuser = "{query}"\n[generation]\nmodel = "base"\n'
                    '[[factors]]\nname = "weights"\ntarget = "generation.adapter"\n[factors.levels]\n'
                    'none = ""\ndistilled = "runs/x/adapter"\n[[queries]]\nid = "q"\ntext = "Hi"\n')
    design = load_design(path)
    factor = design.factor("weights")
    assert factor.setting == "adapter" and [level.value for level in factor.levels] == ["", "runs/x/adapter"]


def test_held_out_queries_in_a_jsonl_file(tmp_path):
    (tmp_path / "queries.jsonl").write_text('{"id": "a", "text": "A?"}\n{"id": "b", "text": "B?", "held_out": true}\n')
    path = tmp_path / "h.toml"
    path.write_text('name = "h"\nqueries = "queries.jsonl"\n[prompt]\nsystem = "{s}"\nuser = "{query}"\n'
                    '[generation]\nmodel = "m"\n[[factors]]\nname = "s"\n[factors.levels]\nx = ""\ny = "Y"\n')
    design = load_design(path)
    assert [q.id for q in design.queries] == ["a"] and [q.id for q in design.held_out] == ["b"]
