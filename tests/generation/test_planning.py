"""Planning: which answer rows an experiment needs, their prompts and seeds, and the chunks."""
from datetime import timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from evalplat.experiments.importing import import_design_text
from evalplat.generation.models import Answer, GenerationJob
from evalplat.generation.planning import (PlanningError, answer_seed, create_missing_answers, enqueue_chunks,
                                          hand_out, plan_job, split_into_chunks, start_job)
from evalplat.generation.tasks import run_chunk

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


def plan(experiment, django_capture_on_commit_callbacks, backend="replay", chunk_size=512):
    """start_job without sending anything to a broker (the queued planning task is not run), then
    the worker's planning step here; returns the job and the chunks the worker would hand out."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = start_job(experiment, backend, {})
    assert len(callbacks) == 1  # the planning task, nothing else
    chunks = plan_job(job.pk, chunk_size)
    job.refresh_from_db()
    return job, chunks


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


def test_run_order_is_by_model_then_variant_and_chunks_never_mix_models(model_experiment,
                                                                        django_capture_on_commit_callbacks):
    job, chunks = plan(model_experiment, django_capture_on_commit_callbacks, chunk_size=3)
    rows = list(job.answers.in_run_order().values_list("id", "model", "variant__position"))
    assert [model for _, model, _ in rows] == ["ckpt-new"] * 8 + ["ckpt-old"] * 8
    assert [v for _, _, v in rows[:8]] == sorted(v for _, _, v in rows[:8])
    assert [len(c) for c in chunks] == [3, 3, 2, 3, 3, 2]
    assert [i for chunk in chunks for i in chunk] == [i for i, _, _ in rows]


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
    second, _ = plan(experiment, django_capture_on_commit_callbacks)
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


def test_enqueue_skips_rows_that_are_not_pending(settings, experiment, django_capture_on_commit_callbacks):
    settings.GENERATION_CHUNK_SIZE = 10
    job, chunks = plan(experiment, django_capture_on_commit_callbacks, chunk_size=10)
    assert len(chunks) == 4
    job.answers.filter(variant__position__lt=4).update(status="done")
    with django_capture_on_commit_callbacks(execute=False):
        assert enqueue_chunks(job) == 2


def test_starting_a_job_counts_its_work_and_leaves_the_rows_to_the_worker(experiment, django_capture_on_commit_callbacks):
    create_missing_answers(experiment)
    Answer.objects.filter(variant__code="v1").update(status="done")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = start_job(experiment, "replay", {})
    assert (job.state, job.total) == ("planning", 28)
    assert len(callbacks) == 1 and not Answer.objects.filter(job=job).exists()
    experiment.refresh_from_db()
    assert experiment.status == "generating"
    assert [len(c) for c in plan_job(job.pk, 512)] == [28]
    job.refresh_from_db()
    assert (job.state, job.total, job.answers.count()) == ("queued", 28, 28)


def test_a_job_is_planned_once_however_often_its_task_arrives(experiment, django_capture_on_commit_callbacks):
    job, chunks = plan(experiment, django_capture_on_commit_callbacks)
    assert [len(c) for c in chunks] == [32]
    Answer.objects.filter(pk=chunks[0][0]).update(status="running", attempts=1)  # the first chunk is under way
    assert plan_job(job.pk, 512) == []  # a copy of the task, redelivered
    assert Answer.objects.get(pk=chunks[0][0]).status == "running" and Answer.objects.count() == 32


def test_a_job_cancelled_before_a_worker_planned_it_gets_no_rows(experiment, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        job = start_job(experiment, "replay", {})
    assert job.cancel()
    assert plan_job(job.pk, 512) == []
    assert not Answer.objects.exists()
    experiment.refresh_from_db()
    assert experiment.status == "draft"


def test_a_job_with_nothing_left_when_planned_finishes_at_once(experiment, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        job = start_job(experiment, "replay", {})
    create_missing_answers(experiment)  # and made meanwhile (an import, say)
    Answer.objects.update(status="done")
    assert plan_job(job.pk, 512) == []
    job.refresh_from_db()
    assert (job.state, job.total) == ("done", 0)
    experiment.refresh_from_db()
    assert experiment.status == "ready"


def test_the_planning_worker_runs_the_chunks_the_broker_refuses(experiment, django_capture_on_commit_callbacks,
                                                                 monkeypatch):
    job, chunks = plan(experiment, django_capture_on_commit_callbacks, chunk_size=8)
    sent = []

    def broker(args, queue):
        if len(sent) == 1:
            raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        sent.append(args[1])

    monkeypatch.setattr(run_chunk, "apply_async", broker)
    assert hand_out(job.pk, chunks) == [chunks[0], chunks[2], chunks[3]]
    assert sent == [chunks[1]]
