"""One chunk: claim, generate, write back; repeats, retries, cancellation, lost claims, leases."""
import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from evalplat.generation import chunks
from evalplat.generation.backends.replay import ReplayBackend
from evalplat.generation.models import Answer, GenerationJob
from tests.generation.conftest import plan_here, write_replay


class CountingReplay(ReplayBackend):
    """The real replay backend, counting the requests it is given."""

    def __init__(self, path):
        super().__init__(path)
        self.seen = []

    def generate(self, requests):
        self.seen += [r.key for r in requests]
        return super().generate(requests)


@pytest.fixture
def job(experiment):
    return plan_here(experiment, "replay")


def ids_of(job):
    return list(job.answers.in_run_order().values_list("id", flat=True))


@pytest.mark.django_db
def test_a_chunk_writes_its_answers_and_the_job_finishes(job, tmp_path):
    backend = CountingReplay(write_replay(tmp_path / "r.jsonl", job.experiment))
    outcome = chunks.run_chunk(job.pk, ids_of(job), backend=backend)
    assert (outcome.done, outcome.failed, outcome.lost, outcome.retry_ids) == (32, 0, 0, [])
    job.refresh_from_db()
    assert (job.state, job.done, job.total, job.completion_tokens, job.prompt_tokens) == ("done", 32, 32, 96, 224)
    answer = Answer.objects.get(variant__code="v2", query__key="sky")
    assert (answer.text, answer.attempts, answer.backend, answer.claim_token) == ("replayed v2/sky/0", 1, "replay", None)
    job.experiment.refresh_from_db()
    assert job.experiment.status == "ready"
    # Requests go to the engine in run order: variant by variant, so shared system prompts are adjacent.
    assert [key[0] for key in backend.seen] == sorted((key[0] for key in backend.seen), key=lambda c: int(c[1:]))


@pytest.mark.django_db
def test_a_repeated_chunk_writes_nothing_twice(job, tmp_path):
    backend = CountingReplay(write_replay(tmp_path / "r.jsonl", job.experiment))
    ids = ids_of(job)[:10]
    chunks.run_chunk(job.pk, ids, backend=backend)
    before = {a.pk: (a.text, a.generated_at, a.attempts) for a in Answer.objects.filter(pk__in=ids)}
    again = chunks.run_chunk(job.pk, ids, backend=backend)
    assert (again.done, again.failed, again.lost) == (0, 0, 0)
    assert len(backend.seen) == 10  # the repeat never reached the backend
    assert {a.pk: (a.text, a.generated_at, a.attempts) for a in Answer.objects.filter(pk__in=ids)} == before
    job.refresh_from_db()
    assert job.done == 10 and job.state == "running"


@pytest.mark.django_db
def test_a_failed_request_is_retried_and_then_marked_failed(settings, job, tmp_path, monkeypatch):
    settings.GENERATION_MAX_ATTEMPTS = 2
    missing = Answer.objects.get(variant__code="v1", query__key="sky")
    backend = ReplayBackend(write_replay(tmp_path / "r.jsonl", job.experiment, skip={("v1", "sky", 0)}))
    first = chunks.run_chunk(job.pk, ids_of(job), backend=backend)
    assert (first.done, first.retry_ids) == (31, [missing.pk])
    missing.refresh_from_db()
    assert (missing.status, missing.attempts) == ("pending", 1)
    assert "has no line for variant v1, query sky, sample 0" in missing.error
    second = chunks.run_chunk(job.pk, first.retry_ids, backend=backend)
    assert (second.failed, second.retry_ids) == (1, [])
    job.refresh_from_db()
    assert (job.state, job.done, job.failed) == ("failed", 31, 1)
    assert any("no line for variant v1, query sky" in e for e in job.errors)


@pytest.mark.django_db
def test_a_retry_that_succeeds_completes_the_job(job, tmp_path):
    path = tmp_path / "r.jsonl"
    first = chunks.run_chunk(job.pk, ids_of(job), backend=ReplayBackend(
        write_replay(path, job.experiment, skip={("v4", "tides", 0)})))
    chunks.run_chunk(job.pk, first.retry_ids, backend=ReplayBackend(write_replay(path, job.experiment)))
    job.refresh_from_db()
    assert (job.state, job.done, job.failed) == ("done", 32, 0)
    assert Answer.objects.get(variant__code="v4", query__key="tides").attempts == 2


@pytest.mark.django_db
def test_a_backend_that_raises_fails_its_requests_not_the_worker(job):
    class Broken(ReplayBackend):
        def __init__(self):
            pass

        def generate(self, requests):
            raise RuntimeError("CUDA out of memory")

    outcome = chunks.run_chunk(job.pk, ids_of(job)[:4], backend=Broken())
    assert len(outcome.retry_ids) == 4
    assert set(Answer.objects.filter(pk__in=outcome.retry_ids).values_list("error", flat=True)) == {
        "backend failed: RuntimeError: CUDA out of memory"}


@pytest.mark.django_db
def test_a_cancelled_job_runs_nothing(job, tmp_path):
    backend = CountingReplay(write_replay(tmp_path / "r.jsonl", job.experiment))
    assert job.cancel()
    outcome = chunks.run_chunk(job.pk, ids_of(job), backend=backend)
    assert outcome.done == 0 and backend.seen == []
    assert not job.cancel()


@pytest.mark.django_db
def test_a_worker_presumed_dead_cannot_overwrite_the_answers_it_lost(job, tmp_path):
    path = write_replay(tmp_path / "r.jsonl", job.experiment)
    ids = ids_of(job)[:3]

    class SlowWorker(ReplayBackend):
        def generate(self, requests):
            # While this worker is "stuck", its lease runs out and another worker takes over.
            Answer.objects.filter(pk__in=ids).update(lease_until=timezone.now() - timedelta(seconds=1))
            assert job.reclaim_expired() == 3
            chunks.run_chunk(job.pk, ids, backend=ReplayBackend(path))
            return [type(r)(**(vars(r) | {"text": "stale"})) for r in super().generate(requests)]

    outcome = chunks.run_chunk(job.pk, ids, backend=SlowWorker(path))
    assert (outcome.done, outcome.lost) == (0, 3)
    assert set(Answer.objects.filter(pk__in=ids).values_list("text", flat=True)) != {"stale"}
    assert "stale" not in Answer.objects.values_list("text", flat=True)


@pytest.mark.django_db
def test_reclaiming_fails_a_row_that_killed_its_worker_every_time(settings, job, monkeypatch):
    settings.GENERATION_MAX_ATTEMPTS = 2
    past = timezone.now() - timedelta(seconds=1)
    a, b = ids_of(job)[:2]
    Answer.objects.filter(pk=a).update(status="running", attempts=1, lease_until=past)
    Answer.objects.filter(pk=b).update(status="running", attempts=2, lease_until=past)
    assert job.reclaim_expired() == 2
    assert Answer.objects.get(pk=a).status == "pending"
    assert Answer.objects.get(pk=b).status == "failed"
    assert "stopped" in Answer.objects.get(pk=b).error


@pytest.mark.django_db(transaction=True)
def test_the_lease_is_renewed_while_the_engine_works(job):
    token = uuid.uuid4()
    chunks.claim(job, ids_of(job)[:2], token, lease_seconds=0.1)
    first = Answer.objects.filter(claim_token=token).first().lease_until
    with chunks.LeaseKeeper(token, 0.6):
        time.sleep(0.4)
    renewed = Answer.objects.filter(claim_token=token).first().lease_until
    assert renewed - first > timedelta(seconds=0.5)


@pytest.mark.django_db
def test_output_that_cannot_be_stored_fails_its_answer_with_the_reason_not_the_chunk(job, tmp_path):
    from evalplat.generation.backends.base import TokenLogprob

    class Untrusted(ReplayBackend):
        """Model output as a random or broken model makes it: a NUL in one text, a lone surrogate in a token."""

        def generate(self, requests):
            results = super().generate(requests)
            results[0].text = "fine until\x00here"
            results[1].logprobs = [TokenLogprob("ok", -0.1, (("ok", -0.1), ("\ud800", -2.5)))]
            return results

    outcome = chunks.run_chunk(job.pk, ids_of(job), backend=Untrusted(write_replay(tmp_path / "r.jsonl", job.experiment)))
    assert (outcome.done, outcome.failed, outcome.retry_ids) == (30, 2, [])
    first, second = (Answer.objects.get(pk=pk) for pk in ids_of(job)[:2])
    assert (first.status, first.text, first.attempts) == ("failed", "", 1)  # not asked again: seeded, it would recur
    assert first.error == ("the model's output cannot be stored: text: contains a NUL character (\\u0000) "
                           "at character 11; remove it")
    assert second.status == "failed" and second.logprobs is None
    assert second.error.startswith("the model's output cannot be stored: logprobs[1] token: contains an unpaired surrogate")
    job.refresh_from_db()
    assert (job.state, job.done, job.failed) == ("failed", 30, 2) and first.error in job.errors
