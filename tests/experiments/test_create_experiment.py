import pytest
from django.core.management import CommandError, call_command

from evalplat.experiments.models import Experiment

pytestmark = pytest.mark.django_db


def test_it_stores_the_design_and_its_matrix(experiment, small_design_path):
    assert experiment.design_text == small_design_path.read_text()
    assert len(experiment.design_sha256) == 64
    assert experiment.array_name and experiment.foldover
    assert [f.name for f in experiment.factors.all()] == ["hedge", "voice", "temperature"]
    assert experiment.variants.count() == 8  # L4 folded over
    assert [q.key for q in experiment.queries.all()] == ["sky", "tides", "apology", "budget"]


def test_the_first_variant_is_the_all_baseline_one(experiment):
    first = experiment.variants.get(code="v1")
    assert first.level_names() == {"hedge": "plain", "voice": "flat", "temperature": "cold"}


def test_every_variant_has_one_level_per_factor_and_a_mirror(experiment):
    for variant in experiment.variants.all():
        names = variant.level_names()
        assert sorted(names) == ["hedge", "temperature", "voice"]
        mirror = variant.mirror.level_names()
        assert all(names[f] != mirror[f] for f in names)  # two-level mirror: every level swapped


def test_the_variants_are_distinct(experiment):
    rows = {tuple(sorted(v.level_names().items())) for v in experiment.variants.all()}
    assert len(rows) == experiment.variants.count()


def test_prompt_for_composes_from_the_stored_rows(experiment):
    variant = experiment.variants.get(code="v1")
    prompt = experiment.prompt_for(variant, experiment.queries.get(key="sky"))
    assert prompt.system == "You are a test assistant. Quokka-flat: use a neutral voice."
    assert prompt.settings.temperature == 0.1


def test_importing_the_same_name_twice_is_refused(experiment, small_design_path):
    with pytest.raises(CommandError, match="exists already; use --replace"):
        call_command("create_experiment", str(small_design_path))
    assert Experiment.objects.count() == 1


def test_replace_overwrites_an_experiment_without_answers(experiment, small_design_path):
    call_command("create_experiment", str(small_design_path), "--replace")
    assert Experiment.objects.count() == 1
    assert Experiment.objects.get().pk != experiment.pk


def test_the_owner_must_exist(small_design_path):
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        call_command("create_experiment", str(small_design_path), "--owner", "nobody")
    assert Experiment.objects.count() == 0


def test_an_array_that_cannot_hold_the_factors_writes_nothing(tmp_path, small_design_path):
    design = tmp_path / "small.toml"
    design.write_text(small_design_path.read_text().replace('array = "auto"', 'array = "L4"')
                      .replace('[[queries]]', '[[factors]]\nname = "extra"\ntarget = "generation.top_p"\n'
                               '[factors.levels]\na = 0.5\nb = 0.9\n\n[[factors]]\nname = "more"\n'
                               'target = "generation.max_tokens"\n[factors.levels]\na = 8\nb = 16\n\n[[queries]]', 1))
    with pytest.raises(CommandError, match="array"):
        call_command("create_experiment", str(design))
    assert Experiment.objects.count() == 0


def test_a_design_path_longer_than_its_column_keeps_the_file_name(owner, small_design_path, tmp_path):
    from evalplat.experiments.importing import import_design_file

    deep = tmp_path.joinpath(*["folder-with-a-long-name"] * 30)
    deep.mkdir(parents=True)
    design = deep / "small.toml"
    design.write_text(small_design_path.read_text())
    experiment = import_design_file(design, owner=owner)
    assert len(experiment.design_path) == 500 and experiment.design_path.endswith("/small.toml")
