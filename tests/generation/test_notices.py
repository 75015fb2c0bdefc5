"""Job notices: `generate --wait` wakes when a worker records the job's progress, not a poll later."""
import threading
import time

import pytest
from django.db import connection

from evalplat.generation import notices
from evalplat.generation.models import GenerationJob
from evalplat.generation.notices import JobWaiter
from evalplat.generation.planning import create_missing_answers
from tests.generation.test_generation_faults import on_postgresql  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db(transaction=True)  # notices are delivered on commit


def in_other_connection(step, delay=0.2):
    """step() in a thread of its own (so on a connection of its own, as a worker's), after `delay`."""
    def run():
        time.sleep(delay)
        try:
            step()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def timed_wait(waiter, timeout):
    started = time.monotonic()
    waiter.wait(timeout)
    return time.monotonic() - started


@pytest.fixture
def job(experiment):
    job = GenerationJob.objects.create(experiment=experiment, backend="replay")
    create_missing_answers(experiment, job)
    return job


@pytest.mark.parametrize("change", ["refresh_counts", "cancel"])  # a chunk recording progress; a cancel
def test_a_waiter_wakes_when_its_job_changes(on_postgresql, job, change):
    waiter = JobWaiter(job.pk, poll_seconds=0.1)
    assert waiter.listen()
    thread = in_other_connection(getattr(GenerationJob.objects.get(pk=job.pk), change))
    assert timed_wait(waiter, 10) < 5
    thread.join()


def test_another_jobs_notice_does_not_end_the_wait(on_postgresql, job):
    waiter = JobWaiter(job.pk, poll_seconds=0.1)
    waiter.listen()
    thread = in_other_connection(lambda: notices.announce(job.pk + 1), delay=0)
    assert timed_wait(waiter, 1.0) >= 1.0
    thread.join()


def test_after_a_reconnect_the_waiter_listens_again(on_postgresql, job):
    waiter = JobWaiter(job.pk, poll_seconds=0.1)
    waiter.listen()
    connection.close()  # as the command does when a read fails during an outage
    thread = in_other_connection(lambda: notices.announce(job.pk), delay=0.5)
    assert timed_wait(waiter, 10) < 5
    thread.join()


def test_where_notices_do_not_exist_the_waiter_sleeps_one_poll(job, monkeypatch):
    monkeypatch.setattr(notices, "listens", lambda: False)
    waiter = JobWaiter(job.pk, poll_seconds=0.2)
    assert not waiter.listen()
    assert 0.2 <= timed_wait(waiter, 10) < 2
