"""Queuing never leaves a job no worker will receive: a broker that cannot be reached is
reported in seconds, and the job and the status change are rolled back (real Celery and kombu,
pointed at ports this test owns)."""
import socket
import time

import pytest
from django.test import override_settings
from django.urls import reverse

from evalplat.generation.models import Answer, GenerationJob
from evalplat.generation.planning import PlanningError, start_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed_port():
    """A port nothing listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_port():
    """A port that accepts connections and never answers (a broker that hangs)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


def test_an_unreachable_broker_refuses_the_job_and_writes_nothing(experiment, closed_port):
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{closed_port}/1"):
        with pytest.raises(PlanningError) as refused:
            start_job(experiment, "openai", {})
    message = str(refused.value)
    assert message.startswith(f"the task broker at redis://127.0.0.1:{closed_port}/1 cannot be reached: ")
    assert "start Redis or set CELERY_BROKER_URL" in message and "Nothing was queued." in message
    experiment.refresh_from_db()
    assert experiment.status == "draft"
    assert not GenerationJob.objects.exists() and not Answer.objects.exists()


def test_a_broker_that_hangs_is_given_up_in_seconds(experiment, silent_port):
    started = time.monotonic()
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{silent_port}/1"):
        with pytest.raises(PlanningError, match="cannot be reached"):
            start_job(experiment, "openai", {})
    assert time.monotonic() - started < 15  # not the minutes of kombu's default retries
    assert not GenerationJob.objects.exists()


def test_the_broker_password_is_not_shown(experiment, closed_port):
    with override_settings(CELERY_BROKER_URL=f"redis://:hunter2@127.0.0.1:{closed_port}/1"):
        with pytest.raises(PlanningError) as refused:
            start_job(experiment, "openai", {})
    assert "hunter2" not in str(refused.value)


def test_a_broker_lost_before_the_publish_cancels_the_job_with_its_reason(
        experiment, closed_port, django_capture_on_commit_callbacks):
    # The broker answers while the job is planned and is gone when the commit publishes it.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = start_job(experiment, "openai", {})
    assert len(callbacks) == 1 and experiment.generation_jobs.get().state == "planning"
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{closed_port}/1"):
        with pytest.raises(PlanningError, match=f"cannot be reached: .*Job #{job.pk} was cancelled"):
            for callback in callbacks:
                callback()
    job.refresh_from_db()
    experiment.refresh_from_db()
    assert job.state == "cancelled" and experiment.status == "draft"
    assert job.errors[-1].startswith("job not queued: the task broker at redis://127.0.0.1:")


def test_the_console_says_the_broker_is_down_and_queues_nothing(client, owner, experiment, closed_port):
    client.force_login(owner)
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{closed_port}/1"):
        page = client.post(reverse("generation:start", args=[experiment.slug]), {"backend": "openai"}, follow=True)
    assert page.status_code == 200
    assert f"the task broker at redis://127.0.0.1:{closed_port}/1 cannot be reached" in page.content.decode()
    assert not GenerationJob.objects.exists()
    experiment.refresh_from_db()
    assert experiment.status == "draft"
