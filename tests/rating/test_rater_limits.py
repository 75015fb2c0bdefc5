"""What a rater may do, checked on every request: the link, the rater and the study must all allow a
judgment; platform parameters are validated; new raters and submits are rate limited; speed is flagged."""
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from evalplat.experiments.models import Experiment
from evalplat.rating.models import Assignment, Invite, Judgment, Rater
from tests.rating.pages import moved_on_to

pytestmark = pytest.mark.django_db
PROLIFIC = {"PROLIFIC_PID": "pid-1", "STUDY_ID": "study-1", "SESSION_ID": "session-1"}


def item_of(url):
    return Assignment.objects.get(public_id=url.rstrip("/").split("/")[-1])


def test_a_revoked_link_refuses_the_items_its_raters_hold(client, study_invite, start_session):
    url = start_session(client, study_invite, **PROLIFIC)
    Invite.objects.update(revoked_at=timezone.now())
    response = client.post(url, {"choice": "a1"})
    assert response.status_code == 409 and "This link has been withdrawn" in response.content.decode()
    assert client.get(url).status_code == 403
    assert client.get(reverse("rating:next")).status_code == 403
    assert not Judgment.objects.exists() and item_of(url).status == Assignment.Status.ISSUED


def test_a_closed_study_refuses_open_items_until_it_reopens(client, study_invite, start_session):
    url = start_session(client, study_invite, **PROLIFIC)
    experiment = study_invite.experiment
    assert experiment.close_rating()
    response = client.post(url, {"choice": "a1"})
    assert response.status_code == 409 and "not open right now" in response.content.decode()
    assert "not open right now" in client.get(url).content.decode()
    assert client.post(url + "problem/", {"problem": "broken"}).status_code == 409
    assert not Judgment.objects.exists() and item_of(url).status == Assignment.Status.ISSUED
    assert experiment.open_rating()
    assert moved_on_to(client.post(url, {"choice": "a1"})) != url
    assert Judgment.objects.count() == 1


def test_a_stopped_rater_cannot_submit_the_item_they_hold(client, study_invite, start_session):
    url = start_session(client, study_invite, **PROLIFIC)
    Rater.objects.update(status=Rater.Status.STOPPED, finished_at=timezone.now())
    response = client.post(url, {"choice": "a1"})
    assert response["Location"] == reverse("rating:done")
    assert client.get(url)["Location"] == reverse("rating:done")
    assert "This session has ended" in client.get(reverse("rating:done")).content.decode()
    assert not Judgment.objects.exists()


@pytest.mark.parametrize("name, value, problem", [
    ("PROLIFIC_PID", "pid\x00evil", "PROLIFIC_PID contains control characters"),
    ("STUDY_ID", "study\x00", "STUDY_ID contains control characters"),
    ("SESSION_ID", "x" * 201, "SESSION_ID is longer than 200 characters"),
    ("workerId", "\x00", "workerId contains control characters"),
    ("PROLIFIC_PID", "{{%PROLIFIC_PID%}}", "PROLIFIC_PID is the placeholder {{%PROLIFIC_PID%}}, not a participant"),
    ("STUDY_ID", "%STUDY_ID%", "STUDY_ID is the placeholder %STUDY_ID%"),
])
def test_bad_platform_parameters_get_a_clear_400_and_create_nobody(client, rating_experiment, name, value, problem):
    invite = Invite.objects.create(experiment=rating_experiment)  # no platform: every parameter is read
    response = client.get(reverse("rating:start", args=[invite.token]), {**PROLIFIC, name: value})
    assert response.status_code == 400
    assert problem in response.content.decode()
    assert not Rater.objects.exists()


def test_nul_bytes_in_link_and_item_addresses_are_404s(client, study_invite, start_session):
    assert client.get("/r/abc%00def/").status_code == 404
    start_session(client, study_invite, **PROLIFIC)
    assert client.get("/r/a/abc%00def/").status_code == 404
    assert client.post("/r/a/abc%00def/", {"choice": "a1"}).status_code == 404
    assert client.post("/r/a/abc%00def/problem/", {"problem": "broken"}).status_code == 404


def test_new_raters_are_limited_per_address_and_per_link(study_invite, settings):
    settings.RATING_NEW_RATERS_PER_ADDRESS, settings.RATING_NEW_RATERS_PER_LINK = "3/m", "5/m"
    link = reverse("rating:start", args=[study_invite.token])

    def arrive(pid, address):
        return Client(REMOTE_ADDR=address).get(link, {**PROLIFIC, "PROLIFIC_PID": pid})

    assert [arrive(f"a{n}", "10.0.0.1").status_code for n in range(4)] == [302, 302, 302, 429]
    assert "Too many new sessions" in arrive("a9", "10.0.0.1").content.decode()
    # Another address has its own allowance, but the link's is shared: 5 in all.
    assert [arrive(f"b{n}", "10.0.0.2").status_code for n in range(3)] == [302, 302, 429]
    assert Rater.objects.count() == 5


def test_submits_are_limited_per_rater_and_a_refused_one_is_not_stored(client, study_invite, start_session,
                                                                      settings):
    settings.RATING_SUBMITS_PER_RATER = "2/m"
    url = start_session(client, study_invite, **PROLIFIC)
    for _ in range(2):
        url = moved_on_to(client.post(url, {"choice": "a1"}))
    response = client.post(url, {"choice": "a1"})
    assert response.status_code == 429 and "Please wait a moment" in response.content.decode()
    assert Judgment.objects.count() == 2 and item_of(url).status == Assignment.Status.ISSUED


def test_a_rater_who_does_forty_items_in_seconds_is_flagged_too_fast(client, study_invite, start_session, settings):
    settings.RATING_SUBMITS_PER_RATER = "1000/m"  # the flag, not the limit (which would stop them at 30)
    settings.RATING_FAST_MEDIAN_SECONDS = 3.0  # the production rule (tests/settings.py turns it off)
    Experiment.objects.update(rating=dict(study_invite.experiment.rating, per_rater=40, gold_rate=0.0))
    url = start_session(client, study_invite, **PROLIFIC)
    started = timezone.now()
    judged = 0
    while "/r/a/" in url:
        client.get(url)
        url = moved_on_to(client.post(url, {"choice": "a1"}))
        judged += 1
    assert judged == 40 and timezone.now() - started < timedelta(seconds=60)
    rater = Rater.objects.get()
    assert rater.too_fast and rater.status == Rater.Status.FINISHED


def test_the_flag_counts_the_judgment_just_stored(client, study_invite, start_session, settings):
    settings.RATING_SUBMITS_PER_RATER = "1000/m"
    settings.RATING_FAST_MEDIAN_SECONDS = 3.0
    settings.RATING_FAST_MIN_ITEMS = 5
    Experiment.objects.update(rating=dict(study_invite.experiment.rating, per_rater=40, gold_rate=0.0))
    url = start_session(client, study_invite, **PROLIFIC)
    flagged = []
    for _ in range(5):
        client.get(url)
        url = moved_on_to(client.post(url, {"choice": "a1"}))
        flagged.append(Rater.objects.get().too_fast)
    assert flagged == [False, False, False, False, True]  # at the fifth fast submit, not the sixth


def test_a_rater_who_reads_is_not_flagged(client, study_invite, start_session, settings):
    settings.RATING_FAST_MEDIAN_SECONDS = 3.0
    url = start_session(client, study_invite, **PROLIFIC)
    while "/r/a/" in url:
        client.get(url)
        Assignment.objects.filter(public_id=url.rstrip("/").split("/")[-1]).update(
            issued_at=timezone.now() - timedelta(seconds=12))
        url = moved_on_to(client.post(url, {"choice": "b1"}))
    assert not Rater.objects.get().too_fast
    assert all(j.time_on_item_ms >= 12000 for j in Judgment.objects.all())
