"""Many raters at once, double clicks and two tabs: one judgment per assignment, no item handed out twice.

SQLite runs one writer at a time, which would hide every race, so this test
runs against PostgreSQL: under another database it re-runs itself in a child
pytest with DATABASE_URL pointing at PostgreSQL (its own test database name,
so it never collides with another suite's).
"""
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from evalplat.experiments.models import Experiment
from evalplat.rating.models import Assignment, Judgment, RatingQueue, Rater
from tests.rating.pages import moved_on_to
from tests.rating.postgres import under_postgresql

WORKERS = 12
ABANDONERS = 6


def closing(request):
    """Run a request in a pool thread and close that thread's connection, so teardown can drop the DB."""
    try:
        return request()
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
@under_postgresql
def test_concurrent_raters_tabs_and_double_submits(study_invite, start_session, settings):
    settings.RATING_QUEUE_SIZE = 16  # many refills racing with claims, not one big batch
    Experiment.objects.update(rating=dict(study_invite.experiment.rating, overlap=0.3, gold_rate=0.1, per_rater=10))
    for n in range(ABANDONERS):  # raters who open one item and walk away
        start_session(Client(), study_invite, PROLIFIC_PID=f"gone-{n}")
    Assignment.objects.handed_out().update(expires_at=timezone.now() - timedelta(minutes=1))
    RatingQueue.objects.update(refilled_at=timezone.now() - timedelta(minutes=2))  # a refill is due: reissues
    abandoned = set(Assignment.objects.handed_out().values_list("pk", flat=True))

    start = threading.Barrier(WORKERS)
    failures = []

    def rater_session(n):
        try:
            client = Client()
            client.get(reverse("rating:start", args=[study_invite.token]), {"PROLIFIC_PID": f"p{n}"})
            client.post(reverse("rating:welcome"), {"consent": "yes"})
            start.wait()
            with ThreadPoolExecutor(2) as tabs:
                while True:
                    # Two tabs ask for the next item at once: both must get the same one.
                    first, second = tabs.map(
                        lambda _: closing(lambda: client.get(reverse("rating:next"))["Location"]), range(2))
                    if first != second:
                        failures.append(f"two tabs got {first} and {second}")
                    if "/r/a/" not in first:
                        return
                    # The browser shows the item; that page tops the queue up when it is due.
                    if closing(lambda: client.get(first).status_code) != 200:
                        failures.append(f"item page {first} did not open")
                    # A double click: the same judgment posted twice at the same moment.
                    answers = list(tabs.map(
                        lambda _: closing(lambda: client.post(first, {"choice": "b1"})), range(2)))
                    codes = [response.status_code for response in answers]
                    if codes not in ([200, 200], [302, 302]):  # the next item's page, or to the end
                        failures.append(f"double submit answered {codes}")
                    elif moved_on_to(answers[0]) != moved_on_to(answers[1]):
                        failures.append(f"a double submit led to {moved_on_to(answers[0])} and {moved_on_to(answers[1])}")
        except Exception as exc:  # noqa: BLE001 — report it from the main thread
            failures.append(repr(exc))
        finally:
            connection.close()

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(rater_session, range(WORKERS)))

    assert failures == []
    judged = Assignment.objects.filter(status=Assignment.Status.JUDGED)
    assert Judgment.objects.count() == judged.count()
    assert Judgment.objects.values("assignment").distinct().count() == Judgment.objects.count()
    for rater in Rater.objects.exclude(external_id__startswith="gone-"):
        assert rater.assignments.filter(status=Assignment.Status.JUDGED).count() == 10
        assert rater.status == Rater.Status.FINISHED
    copies = Assignment.objects.filter(source__isnull=False).values("source", "kind").annotate(n=Count("pk"))
    assert all(row["n"] == 1 for row in copies)
    reissued = set(Assignment.objects.filter(kind=Assignment.Kind.REISSUE).values_list("source", flat=True))
    assert reissued and reissued <= abandoned
    assert Assignment.objects.filter(kind=Assignment.Kind.REPLICA).count() > 0
