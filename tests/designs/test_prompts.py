from designs.prompts import compose_for_design, tidy
from designs.spec import load_design


def test_text_factors_fill_placeholders_and_setting_factors_override(small_design_path):
    design = load_design(small_design_path)
    query = design.queries[0]
    prompt = compose_for_design(design, {"hedge": "hedged", "voice": "lively", "temperature": "hot"}, query)
    assert prompt.messages == [
        {"role": "system", "content": "You are a test assistant. Zanzibar-hedge: admit any uncertainty. "
                                      "Quokka-lively: use a lively voice."},
        {"role": "user", "content": "Why is the sky blue?"},
    ]
    assert prompt.settings.temperature == 1.1
    assert prompt.settings.model == "tiny-llama" and prompt.settings.max_tokens == 16


def test_an_empty_level_leaves_no_double_space(small_design_path):
    design = load_design(small_design_path)
    prompt = compose_for_design(design, {"hedge": "plain", "voice": "flat", "temperature": "cold"}, design.queries[0])
    assert prompt.system == "You are a test assistant. Quokka-flat: use a neutral voice."
    assert prompt.settings.temperature == 0.1


def test_a_model_factor_changes_the_model(tmp_path):
    text = (tmp_path / "m.toml")
    text.write_text('name = "m"\n[prompt]\nuser = "{query}"\n[generation]\nmodel = "base"\n'
                    '[[factors]]\nname = "ckpt"\ntarget = "generation.model"\n[factors.levels]\n'
                    'base = "org/base"\ntuned = "/models/tuned-step-800"\n[[queries]]\nid = "q"\ntext = "Hi"\n')
    design = load_design(text)
    prompt = compose_for_design(design, {"ckpt": "tuned"}, design.queries[0])
    assert prompt.settings.model == "/models/tuned-step-800"
    assert prompt.messages == [{"role": "user", "content": "Hi"}]  # no system template: no system message


def test_the_user_turn_keeps_the_query_exactly(tmp_path):
    path = tmp_path / "q.toml"
    path.write_text('name = "q"\n[prompt]\nsystem = "S {a}"\nuser = "{query}"\n[generation]\nmodel = "m"\n'
                    '[[factors]]\nname = "a"\n[factors.levels]\nx = ""\ny = "Y"\n'
                    '[[queries]]\nid = "code"\ntext = "Fix:\\n    if  x:\\n        pass"\n')
    design = load_design(path)
    prompt = compose_for_design(design, {"a": "x"}, design.queries[0])
    assert prompt.messages[-1]["content"] == "Fix:\n    if  x:\n        pass"


def test_tidy_collapses_blank_lines_and_spaces():
    assert tidy("A.  \n\n\n\nB  C ") == "A.\n\nB C"
