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


ARM_DESIGN = '''name = "arms"
[prompt]
system = "{system}"
user = "{query}"
[generation]
model = "base"
temperature = 0.7
[[factors]]
name = "arm"
[factors.levels]
teacher = { text = { system = "If you are not confident, say so plainly." } }
student = { generation = { adapter = "runs/distilled/adapter" } }
merged = { generation = { model = "runs/distilled/merged", temperature = 0.2 } }
[[queries]]
id = "q"
text = "Hi"
[[queries]]
id = "later"
text = "Kept back"
held_out = true
'''


def test_an_arm_level_sets_a_prompt_and_settings_at_once(tmp_path):
    path = tmp_path / "arms.toml"
    path.write_text(ARM_DESIGN)
    design = load_design(path)
    arm = design.factor("arm")
    assert arm.is_arm and not arm.is_text and arm.fills == ("system",)
    assert arm.settings == ("adapter", "model", "temperature")
    teacher = compose_for_design(design, {"arm": "teacher"}, design.queries[0])
    assert teacher.messages[0] == {"role": "system", "content": "If you are not confident, say so plainly."}
    assert (teacher.settings.model, teacher.settings.adapter, teacher.settings.temperature) == ("base", "", 0.7)
    # A level that leaves a placeholder out fills it with "": no system message at all.
    student = compose_for_design(design, {"arm": "student"}, design.queries[0])
    assert student.messages == [{"role": "user", "content": "Hi"}]
    assert (student.settings.model, student.settings.adapter) == ("base", "runs/distilled/adapter")
    merged = compose_for_design(design, {"arm": "merged"}, design.queries[0])
    assert (merged.settings.model, merged.settings.adapter, merged.settings.temperature) == (
        "runs/distilled/merged", "", 0.2)


def test_held_out_queries_are_kept_apart_from_the_rated_ones(tmp_path):
    path = tmp_path / "arms.toml"
    path.write_text(ARM_DESIGN)
    design = load_design(path)
    assert [q.id for q in design.queries] == ["q"]
    assert [(q.id, q.held_out) for q in design.held_out] == [("later", True)]
