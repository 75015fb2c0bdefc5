"""Real Redis, real Celery workers: a job completes; a worker killed mid-job leaves no gap and no
duplicate once the job is resumed; repeated chunk messages write nothing twice."""
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_prerun
from django.db import connection

from evalplat.celery import app
from evalplat.generation.models import Answer, GenerationJob
from evalplat.generation.planning import resume_job, split_into_chunks, start_job
from evalplat.generation.tasks import run_chunk
from tests.generation.conftest import plan_here, write_replay
from tests.generation.openai_peer import expected_text

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def queue():
    """A queue of this test's own on the configured Redis, so a developer's running worker never
    takes (or is given) the test's chunks."""
    name = f"gpu-test-{uuid.uuid4().hex[:8]}"
    routes = app.conf.task_routes
    # conf.update (not assignment) so that Celery rebuilds its cached router.
    app.conf.update(task_routes={task: {"queue": name} for task in
                                 ("evalplat.generation.tasks.plan_job", "evalplat.generation.tasks.run_chunk")})
    yield name
    app.conf.update(task_routes=routes)
    with app.connection_for_write() as conn:
        conn.default_channel.queue_delete(name)


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def job_finished(job):
    job.refresh_from_db()
    return not job.is_active


def test_a_job_completes_through_redis_and_a_worker(settings, experiment, tmp_path, queue):
    settings.GENERATION_CHUNK_SIZE = 8
    path = write_replay(tmp_path / "r.jsonl", experiment)
    job = plan_here(experiment, "replay", {"replay": str(path)})  # its chunks queued below, each twice in a row
    # The second copy right behind the first, as a broker redelivering it while the job runs would.
    for ids in split_into_chunks(list(job.answers.in_run_order().values_list("id", "model")), 8):
        run_chunk.delay(job.pk, ids)
        run_chunk.delay(job.pk, ids)
    with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, queues=[queue],
                      shutdown_timeout=10):
        wait_for(lambda: job_finished(job), 30, "the job to finish")
    assert (job.state, job.done, job.total) == ("done", 32, 32)
    answers = Answer.objects.filter(experiment=experiment)
    assert answers.count() == 32 and set(answers.values_list("status", "attempts")) == {("done", 1)}
    assert answers.get(variant__code="v5", query__key="budget").text == "replayed v5/budget/0"


def test_the_worker_plans_a_started_job_and_runs_its_first_chunk_itself(settings, experiment, tmp_path, queue):
    settings.GENERATION_CHUNK_SIZE = 8
    job = start_job(experiment, "replay", {"replay": str(write_replay(tmp_path / "r.jsonl", experiment))})
    # The starter only counted: no row exists until a worker plans the job.
    assert (job.state, job.total) == ("planning", 32) and not Answer.objects.exists()
    received = []
    record = lambda task, args, **kwargs: received.append((task.name.rsplit(".", 1)[-1], args))  # noqa: E731
    task_prerun.connect(record, weak=False)
    try:
        with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, queues=[queue],
                          shutdown_timeout=10):
            wait_for(lambda: job_finished(job), 30, "the job to finish")
    finally:
        task_prerun.disconnect(record)
    assert (job.state, job.done, job.total) == ("done", 32, 32)
    chunks = split_into_chunks(list(job.answers.in_run_order().values_list("id", "model")), 8)
    # One planning task, then the chunks after the first from the broker: the first ran inside it.
    assert received == [("plan_job", [job.pk, 8])] + [("run_chunk", [job.pk, ids]) for ids in chunks[1:]]


def database_url(settings_dict):
    user = settings_dict["USER"] or "postgres"
    if settings_dict["PASSWORD"]:
        user += f":{settings_dict['PASSWORD']}"
    return f"postgres://{user}@{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"


def start_worker_process(env, queue, log):
    """`manage.py worker` in its own process group, as it runs on a GPU machine."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "worker", "--queue", queue, "--without-heartbeat", "--without-mingle",
         "--without-gossip", "--loglevel=WARNING", "-n", f"{queue}-{uuid.uuid4().hex[:4]}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def kill(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_a_worker_killed_mid_job_leaves_no_gap_and_no_duplicate(settings, experiment, peer, queue, monkeypatch, tmp_path):
    if connection.vendor != "postgresql":
        pytest.fail("this test shares its database with a worker process: run it with "
                    "DATABASE_URL=postgres://postgres@127.0.0.1:5432/evalplat")
    settings.GENERATION_CHUNK_SIZE = 4
    peer.delay = 0.2  # one request at a time: a chunk of 4 takes about 0.8 s
    env = os.environ | {
        "DATABASE_URL": database_url(connection.settings_dict),
        "GENERATION_OPENAI_BASE_URL": peer.base_url,
        "GENERATION_OPENAI_CONCURRENCY": "1",
        "GENERATION_LEASE_SECONDS": "2",
        # Short, so the killed chunk's message is also redelivered: it must then find nothing to do.
        "CELERY_VISIBILITY_TIMEOUT": "3",
    }
    log = (tmp_path / "worker.log").open("w")
    worker = start_worker_process(env, queue, log)
    try:
        job = start_job(experiment, "openai", {})
        wait_for(lambda: job.answers.filter(status="done").count() >= 6
                 and job.answers.filter(status="running").exists(), 60, "the worker to be mid-chunk")
        kill(worker)
        stuck = set(job.answers.filter(status="running").values_list("id", flat=True))
        finished_before = {a.pk: (a.text, a.generated_at) for a in job.answers.filter(status="done")}
        assert stuck and len(finished_before) < 32

        time.sleep(2.2)  # the dead worker's lease runs out
        worker = start_worker_process(env, queue, log)
        resume_job(job)
        wait_for(lambda: job_finished(job), 90, "the resumed job to finish")
    finally:
        kill(worker)
        log.close()

    assert (job.state, job.done, job.failed) == ("done", 32, 0), (tmp_path / "worker.log").read_text()[-3000:]
    answers = list(Answer.objects.filter(experiment=experiment))
    assert len(answers) == 32 and {a.status for a in answers} == {"done"}
    for answer in answers:
        assert answer.text == expected_text({"messages": answer.messages, "seed": answer.seed, "model": answer.model})
        assert answer.attempts == (2 if answer.pk in stuck else 1)
    # What was finished before the kill was not written again.
    assert {a.pk: (a.text, a.generated_at) for a in answers if a.pk in finished_before} == finished_before


def test_a_database_error_in_process_is_raised_not_retried_forever(monkeypatch):
    """Eagerly (the demo, no broker) a retry would run at once, again and again: the error surfaces instead."""
    from django.db import OperationalError

    from evalplat.generation import chunks

    calls = []

    def unreachable(job_id, answer_ids):
        calls.append(job_id)
        raise OperationalError("connection refused")

    monkeypatch.setattr(chunks, "run_chunk", unreachable)
    with pytest.raises(OperationalError, match="connection refused"):
        run_chunk.apply((1, [2, 3]), throw=True)
    assert calls == [1]
