"""Planning: which answer rows an experiment needs, their prompts and seeds, and the chunks."""
from datetime import timedelta

import pytest
from django.utils import timezone

from evalplat.experiments.importing import import_design_text
from evalplat.generation.models import Answer, GenerationJob
from evalplat.generation.planning import (PlanningError, answer_seed, create_missing_answers, enqueue_chunks,
                                          split_into_chunks, start_job)

pytestmark = pytest.mark.django_db

MODEL_FACTOR_DESIGN = """
name = "models"
title = "Two checkpoints"
question = "Which is better?"
[prompt]
system = "Be {style}."
user = "{query}"
[generation]
model = "base-model"
max_tokens = 8
temperature = 0.5
samples = 2
seed = 11
[[factors]]
name = "style"
[factors.levels]
brief = "brief"
thorough = "thorough"
[[factors]]
name = "model"
target = "generation.model"
[factors.levels]
old = "ckpt-old"
new = "ckpt-new"
[[queries]]
id = "a"
text = "Question A"
[[queries]]
id = "b"
text = "Question B"
"""


@pytest.fixture
def model_experiment():
    return import_design_text(MODEL_FACTOR_DESIGN, "models.toml")


def plan(experiment, django_capture_on_commit_callbacks, backend="replay"):
    """start_job without sending anything to a broker (the queued callbacks are not run)."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = start_job(experiment, backend, {})
    return job, callbacks


def test_it_creates_one_pending_row_per_variant_query_and_sample(experiment):
    assert create_missing_answers(experiment) == 8 * 4
    assert create_missing_answers(experiment) == 0
    answer = Answer.objects.get(variant__code="v1", query__key="sky")
    assert answer.status == "pending" and answer.model == "tiny-llama"
    assert answer.messages == experiment.prompt_for(answer.variant, answer.query).messages
    assert answer.settings["max_tokens"] == 16


def test_setting_factors_resolve_into_each_rows_settings(experiment):
    create_missing_answers(experiment)
    temperatures = {(a.variant.level_names()["temperature"], a.settings["temperature"])
                    for a in Answer.objects.select_related("variant")}
    assert temperatures == {("cold", 0.1), ("hot", 1.1)}


def test_seeds_are_shared_by_variants_and_differ_by_query_and_sample(model_experiment):
    create_missing_answers(model_experiment)
    assert Answer.objects.count() == 4 * 2 * 2
    by_key = {}
    for answer in Answer.objects.select_related("query"):
        by_key.setdefault((answer.query.key, answer.sample), set()).add(answer.seed)
    assert all(len(seeds) == 1 for seeds in by_key.values())
    assert len({seeds.pop() for seeds in by_key.values()}) == 4
    assert by_key.keys() == {("a", 0), ("a", 1), ("b", 0), ("b", 1)}
    assert answer_seed(11, "a", 0) != answer_seed(12, "a", 0)


def test_run_order_is_by_model_then_variant_and_chunks_never_mix_models(settings, model_experiment, monkeypatch,
                                                                        django_capture_on_commit_callbacks):
    settings.GENERATION_CHUNK_SIZE = 3
    job, callbacks = plan(model_experiment, django_capture_on_commit_callbacks)
    rows = list(job.answers.in_run_order().values_list("id", "model", "variant__position"))
    assert [model for _, model, _ in rows] == ["ckpt-new"] * 8 + ["ckpt-old"] * 8
    assert [v for _, _, v in rows[:8]] == sorted(v for _, _, v in rows[:8])
    chunks = split_into_chunks([(i, m) for i, m, _ in rows], 3)
    assert [len(c) for c in chunks] == [3, 3, 2, 3, 3, 2]
    assert len(callbacks) == 6


def test_split_into_chunks_cuts_at_size_and_model_changes():
    rows = [(1, "a"), (2, "a"), (3, "a"), (4, "b"), (5, "a")]
    assert split_into_chunks(rows, 2) == [[1, 2], [3], [4], [5]]
    assert split_into_chunks([], 2) == []


def test_a_second_job_is_refused_while_one_is_active(experiment, django_capture_on_commit_callbacks):
    job, _ = plan(experiment, django_capture_on_commit_callbacks)
    with pytest.raises(PlanningError, match=f"job #{job.pk} for small is still queued"):
        plan(experiment, django_capture_on_commit_callbacks)
    assert GenerationJob.objects.count() == 1


def test_a_new_job_takes_failed_and_abandoned_rows_but_not_done_ones(experiment, django_capture_on_commit_callbacks):
    job, _ = plan(experiment, django_capture_on_commit_callbacks)
    job.cancel()
    answers = list(Answer.objects.order_by("id"))
    Answer.objects.filter(pk=answers[0].pk).update(status="done", text="kept")
    Answer.objects.filter(pk=answers[1].pk).update(status="failed", attempts=3, error="boom")
    Answer.objects.filter(pk=answers[2].pk).update(status="running", lease_until=timezone.now() - timedelta(seconds=1))
    Answer.objects.filter(pk=answers[3].pk).update(status="running", lease_until=timezone.now() + timedelta(hours=1))
    second, callbacks = plan(experiment, django_capture_on_commit_callbacks)
    assert second.total == 32 - 2
    retried = Answer.objects.get(pk=answers[1].pk)
    assert (retried.status, retried.attempts, retried.error, retried.job) == ("pending", 0, "", second)
    assert Answer.objects.get(pk=answers[2].pk).status == "pending"
    assert Answer.objects.get(pk=answers[3].pk).job == job  # a live claim is left to its worker
    assert Answer.objects.get(pk=answers[0].pk).text == "kept"


def test_nothing_to_do_is_refused(experiment, django_capture_on_commit_callbacks):
    create_missing_answers(experiment)
    Answer.objects.update(status="done")
    with pytest.raises(PlanningError, match="every answer of small is generated already"):
        plan(experiment, django_capture_on_commit_callbacks)
    assert not GenerationJob.objects.exists()


def test_planning_marks_the_experiment_generating(experiment, django_capture_on_commit_callbacks):
    plan(experiment, django_capture_on_commit_callbacks)
    experiment.refresh_from_db()
    assert experiment.status == "generating"


def test_enqueue_skips_rows_that_are_not_pending(settings, experiment, django_capture_on_commit_callbacks, monkeypatch):
    settings.GENERATION_CHUNK_SIZE = 10
    job, callbacks = plan(experiment, django_capture_on_commit_callbacks)
    assert len(callbacks) == 4
    job.answers.filter(variant__position__lt=4).update(status="done")
    with django_capture_on_commit_callbacks(execute=False):
        assert enqueue_chunks(job) == 2
