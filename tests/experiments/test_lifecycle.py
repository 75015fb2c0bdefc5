"""The experiment owns its status: every change is a method that moves only from allowed states.

One test per transition, the illegal ones included, plus the paths that must reach them: a
complete answer set makes an experiment ready however it arrived, a job that ends short sends it
back to draft, and rating freezes the answers.
"""
import json

import pytest

from designs.spec import GenerationSettings, RatingSettings
from evalplat.experiments.importing import ImportRefused, import_design_file
from evalplat.experiments.models import Experiment
from evalplat.generation.backends.replay import ReplayError
from evalplat.generation.importing import import_answers
from evalplat.generation.models import GenerationJob
from evalplat.generation.planning import PlanningError, start_job
from tests.generation.conftest import plan_here, write_replay

pytestmark = pytest.mark.django_db

S = Experiment.Status
TRANSITIONS = {
    "start_generation": ({S.DRAFT, S.READY}, S.GENERATING),
    "answers_ready": ({S.DRAFT, S.GENERATING}, S.READY),
    "generation_stopped": ({S.GENERATING}, S.DRAFT),
    "open_rating": ({S.READY, S.CLOSED}, S.RATING),
    "close_rating": ({S.RATING}, S.CLOSED),
}


def force_status(experiment, status):
    """Put the row in a given state for the transition table (tests only)."""
    Experiment.objects.filter(pk=experiment.pk).update(status=status)
    experiment.refresh_from_db()


@pytest.mark.parametrize("method", sorted(TRANSITIONS))
@pytest.mark.parametrize("start", list(S))
def test_each_transition_moves_only_from_its_allowed_states(experiment, method, start):
    allowed, target = TRANSITIONS[method]
    force_status(experiment, start)
    moved = getattr(experiment, method)()
    assert moved == (start in allowed)
    assert experiment.status == (target if start in allowed else start)
    experiment.refresh_from_db()
    assert experiment.status == (target if start in allowed else start)


def test_a_stale_copy_cannot_move_an_experiment_that_moved_meanwhile(experiment):
    force_status(experiment, S.READY)
    stale = Experiment.objects.get(pk=experiment.pk)
    assert experiment.open_rating()
    assert not stale.start_generation()  # the row is in rating now, whatever the copy thought
    assert stale.status == S.RATING


def test_imported_answers_make_the_experiment_ready(experiment, tmp_path):
    assert experiment.status == S.DRAFT
    import_answers(experiment, write_replay(tmp_path / "a.jsonl", experiment))
    experiment.refresh_from_db()
    assert experiment.status == S.READY
    assert experiment.open_rating()


def test_a_partial_import_leaves_it_draft(experiment, tmp_path):
    first = experiment.variants.first().code
    path = write_replay(tmp_path / "a.jsonl", experiment, skip={(first, "sky", 0)})
    import_answers(experiment, path, partial=True)
    experiment.refresh_from_db()
    assert experiment.status == S.DRAFT


def test_a_job_that_ends_with_failures_sends_it_back_to_draft(experiment, tmp_path):
    job = plan_here(experiment, "replay", {"replay": str(tmp_path / "missing.jsonl")})  # planned, not run
    experiment.refresh_from_db()
    assert experiment.status == S.GENERATING
    job.answers.update(status="failed", error="backend failed")
    job.refresh_counts()
    assert job.state == GenerationJob.State.FAILED
    experiment.refresh_from_db()
    assert experiment.status == S.DRAFT


def test_cancelling_a_job_sends_it_back_to_draft(experiment, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        job = start_job(experiment, "openai", {})
    assert job.cancel()
    experiment.refresh_from_db()
    assert experiment.status == S.DRAFT


def test_rating_freezes_the_answers(experiment, tmp_path):
    import_answers(experiment, write_replay(tmp_path / "a.jsonl", experiment))
    experiment.refresh_from_db()
    experiment.open_rating()
    with pytest.raises(PlanningError, match="rating has started"):
        start_job(experiment, "openai", {})
    with pytest.raises(ReplayError, match="rating has started"):
        import_answers(experiment, write_replay(tmp_path / "b.jsonl", experiment), partial=True)


def test_replacing_is_refused_while_answers_exist(owner, small_design_path, tmp_path):
    experiment = import_design_file(small_design_path, owner=owner)
    import_answers(experiment, write_replay(tmp_path / "a.jsonl", experiment))
    with pytest.raises(ImportRefused, match="it has 32 answers"):
        import_design_file(small_design_path, owner=owner, replace=True)


def test_another_experimenter_cannot_replace_or_learn_about_an_experiment(experiment, outsider, small_design_path):
    with pytest.raises(ImportRefused) as refused:
        import_design_file(small_design_path, owner=outsider, replace=True)
    [problem] = refused.value.problems
    assert (problem.field, problem.message) == ("name", "the name 'small' is taken; choose another name for this design")
    experiment.refresh_from_db()
    assert experiment.owner.username == "owner"


def test_the_owner_may_replace_an_experiment_without_answers(experiment, owner, small_design_path):
    replaced = import_design_file(small_design_path, owner=owner, replace=True)
    assert replaced.pk != experiment.pk and not Experiment.objects.filter(pk=experiment.pk).exists()


def test_settings_are_read_typed_from_the_stored_json(experiment):
    assert isinstance(experiment.rating_settings, RatingSettings)
    assert isinstance(experiment.generation_settings, GenerationSettings)
    assert experiment.generation_settings.as_dict() == experiment.generation
    # An experiment stored before a setting existed reads today's default for it.
    stored = json.loads(json.dumps(experiment.rating))
    del stored["gold_rate"]
    Experiment.objects.filter(pk=experiment.pk).update(rating=stored)
    assert Experiment.objects.get(pk=experiment.pk).rating_settings.gold_rate == RatingSettings().gold_rate
