"""Generation under faults, against the real components: a `manage.py worker` process, a
redis-server of the test's own (never the system one), PostgreSQL behind a TCP proxy the test
owns, and `manage.py generate` as a process of its own.

- Redis stopped mid-job (and started again from its append-only file, as a production broker
  runs): the worker waits, reconnects, and the job finishes with nothing lost or asked twice.
- PostgreSQL unreachable mid-job for the worker: the chunk cut off keeps its results and writes
  them when the database answers again; chunks that could not claim run again later. Nothing
  is lost, nothing is generated twice, and no one has to resume the job.

(The rater side of the same faults is tests/rating/test_rater_faults.py; the worker killed
mid-job is tests/generation/test_worker.py.)
"""
import json
import os
import socket
import subprocess
import sys
import time

import pytest
from django.db import connection

from benchmarks.load_raters import free_port
from evalplat.generation.models import Answer, GenerationJob
from tests.generation.openai_peer import expected_text
from tests.generation.test_worker import ROOT, database_url, job_finished, kill, start_worker_process, wait_for
from tests.rating.test_rater_faults import CuttableProxy

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


class OwnRedis:
    """redis-server on a free loopback port, persisting to an append-only file in `directory`
    (fsync on every write), so that a stop and a start keep the queue, as a production broker must."""

    def __init__(self, directory):
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
             "--appendfsync", "always", "--dir", str(self.directory)],
            stdout=(self.directory / "redis.log").open("a"), stderr=subprocess.STDOUT)
        wait_for(self.answers, 10, "redis-server to start")
        return self

    def answers(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def stop(self):
        self.process.terminate()  # SIGTERM: Redis flushes its append-only file and exits
        self.process.wait(timeout=10)
        assert not self.answers()


@pytest.fixture
def redis(tmp_path):
    server = OwnRedis(tmp_path).start()
    yield server
    if server.process.poll() is None:
        server.process.kill()
        server.process.wait()


@pytest.fixture
def on_postgresql():
    if connection.vendor != "postgresql":
        pytest.fail("these tests share their database with worker processes: run them with "
                    "DATABASE_URL=postgres://evalplat:evalplat@127.0.0.1:5432/evalplat")


def queue_job(experiment, env):
    """`manage.py generate` in a process of its own: plans the job and queues its chunks on `env`'s Redis."""
    done = subprocess.run([sys.executable, "manage.py", "generate", experiment.slug, "--backend", "openai"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return GenerationJob.objects.get(experiment=experiment)


def worker_env(redis, peer, db_url, **extra):
    return os.environ | {
        "DATABASE_URL": db_url, "CELERY_BROKER_URL": redis.url, "GENERATION_CHUNK_SIZE": "4",
        "GENERATION_OPENAI_BASE_URL": peer.base_url, "GENERATION_OPENAI_CONCURRENCY": "1",
        # Short, so that a chunk whose acknowledgement was lost with Redis is delivered again
        # soon: it must then find nothing to do.
        "CELERY_VISIBILITY_TIMEOUT": "3", **extra}


def assert_every_answer_made_once(experiment, job, peer, log_path):
    job.refresh_from_db()
    assert (job.state, job.done, job.failed) == ("done", 32, 0), log_path.read_text()[-3000:]
    answers = list(Answer.objects.filter(experiment=experiment))
    assert len(answers) == 32 and {a.status for a in answers} == {"done"}
    for answer in answers:
        assert answer.text == expected_text({"messages": answer.messages, "seed": answer.seed, "model": answer.model})
        assert answer.attempts == 1
    # The engine was asked for each answer once: nothing generated twice, however often a chunk was delivered.
    asked = [json.dumps(body, sort_keys=True) for body in peer.requests]
    assert len(asked) == len(set(asked)) == 32


def test_generation_waits_while_redis_is_stopped_and_resumes_when_it_returns(
        on_postgresql, experiment, peer, redis, tmp_path):
    peer.delay = 0.1  # one request at a time: a chunk of 4 takes about 0.4 s, the job about 3 s
    env = worker_env(redis, peer, database_url(connection.settings_dict))
    log_path = tmp_path / "worker.log"
    log = log_path.open("w")
    worker = start_worker_process(env, "gpu", log)
    try:
        job = queue_job(experiment, env)
        wait_for(lambda: job.answers.filter(status="done").count() >= 8, 60, "the worker to be mid-job")
        redis.stop()
        # The chunk in the engine finishes and is written (the database is there); then nothing
        # more can be fetched: the job waits, still running, with nothing failed.
        time.sleep(1)  # a chunk fetched just before the stop is claimed by now
        wait_for(lambda: not job.answers.filter(status="running").exists(), 30, "the chunk in the engine to be written")
        waiting = job.answers.filter(status="done").count()
        time.sleep(2)
        assert job.answers.filter(status="done").count() == waiting < 32
        assert not job.answers.exclude(status__in=("done", "pending")).exists()
        job.refresh_from_db()
        assert job.is_active and job.failed == 0

        redis.start()  # the same port and append-only file: the queued chunks are still there
        wait_for(lambda: job_finished(job), 120, "the job to finish after Redis returned")
    finally:
        kill(worker)
        log.close()
    assert_every_answer_made_once(experiment, job, peer, log_path)


def test_a_database_outage_mid_job_loses_nothing_and_needs_no_resume(on_postgresql, experiment, peer, redis, tmp_path):
    peer.delay = 0.1
    proxy = CuttableProxy(int(connection.settings_dict["PORT"] or 5432))
    # The worker and `generate --wait` reach the database through the proxy; this test directly.
    env = worker_env(redis, peer, database_url(connection.settings_dict | {"HOST": "127.0.0.1", "PORT": proxy.port}))
    log_path = tmp_path / "worker.log"
    log = log_path.open("w")
    worker = start_worker_process(env, "gpu", log)
    waiting = subprocess.Popen([sys.executable, "manage.py", "generate", experiment.slug, "--backend", "openai", "--wait"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: Answer.objects.filter(experiment=experiment, status="running").exists(), 60,
                 "the worker to be mid-chunk")
        job = GenerationJob.objects.get(experiment=experiment)
        proxy.cut()  # every connection of the worker's and the command's closed, new ones refused
        running = set(job.answers.filter(status="running").values_list("id", flat=True))
        assert running  # a chunk in the engine when the database went
        time.sleep(3)  # longer than a chunk: its results wait, and the next chunk cannot claim
        assert set(job.answers.filter(status="running").values_list("id", flat=True)) == running
        proxy.restore()
        wait_for(lambda: job_finished(job), 120, "the job to finish after the database returned")
        out, err = waiting.communicate(timeout=30)
    finally:
        kill(worker)
        log.close()
        waiting.kill()
        proxy.cut()
    assert "database unreachable" in log_path.read_text()  # the outage did reach the worker
    # The command waited through it and saw the end.
    assert waiting.returncode == 0 and "The database is unreachable" in err and "done: 32 answers" in out, (out, err)
    assert_every_answer_made_once(experiment, job, peer, log_path)
