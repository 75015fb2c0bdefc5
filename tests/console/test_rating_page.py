"""The experimenter's rating pages: progress, invite links, opening and closing rating."""
import pytest
from django.urls import reverse

from evalplat.experiments.models import Experiment
from evalplat.generation.models import sync_experiment_status
from evalplat.rating.models import Invite
from tests.rating.conftest import add_answers

pytestmark = pytest.mark.django_db


def test_the_rating_page_needs_a_login_and_hides_other_peoples_experiments(client, outsider, rating_experiment):
    url = reverse("console:rating", args=[rating_experiment.slug])
    assert "/login/" in client.get(url)["Location"]
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.post(reverse("console:invite_create", args=[rating_experiment.slug]),
                       {"kind": "study", "platform": "none", "count": 1, "completion_code": "X"}).status_code == 404
    assert not Invite.objects.exists()


def test_the_owner_makes_links_and_revokes_one(client, owner, rating_experiment):
    client.force_login(owner)
    create = reverse("console:invite_create", args=[rating_experiment.slug])
    client.post(create, {"kind": "single", "platform": "none", "count": 3, "completion_code": "DONE42"})
    client.post(create, {"kind": "study", "platform": "prolific", "count": 1, "completion_code": "C0DE",
                         "completion_url": "https://app.prolific.com/submissions/complete?cc={code}"})
    assert Invite.objects.filter(kind="single").count() == 3
    study = Invite.objects.get(kind="study")
    page = client.get(reverse("console:rating", args=[rating_experiment.slug])).content.decode()
    assert reverse("rating:start", args=[study.token]) in page and "C0DE" in page
    client.post(reverse("console:invite_revoke", args=[rating_experiment.slug, study.pk]))
    study.refresh_from_db()
    assert not study.is_active
    assert client.get(reverse("rating:start", args=[study.token])).status_code == 404


def test_a_study_link_is_made_once_not_many_times(client, owner, rating_experiment):
    client.force_login(owner)
    response = client.post(reverse("console:invite_create", args=[rating_experiment.slug]),
                           {"kind": "study", "platform": "none", "count": 5, "completion_code": "X"}, follow=True)
    assert "make one" in response.content.decode()
    assert not Invite.objects.exists()


def test_rating_opens_only_from_ready_or_closed(client, owner, experiment):
    client.force_login(owner)
    status = reverse("console:rating_status", args=[experiment.slug])
    client.post(status, {"action": "open"})
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.DRAFT
    add_answers(experiment)
    sync_experiment_status(experiment)
    client.post(status, {"action": "open"})
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.RATING
    client.post(status, {"action": "close"})
    experiment.refresh_from_db()
    assert experiment.status == Experiment.Status.CLOSED


def test_progress_counts_judgments_raters_and_attention_items(client, owner, study_invite, start_session):
    from django.test import Client

    rater = Client()
    item = start_session(rater, study_invite, PROLIFIC_PID="p1")
    rater.post(item, {"choice": "a1"})
    client.force_login(owner)
    page = client.get(reverse("console:rating", args=[study_invite.experiment.slug])).content.decode()
    assert "1 judging" in page
    assert '<div class="stat">1</div>' in page
