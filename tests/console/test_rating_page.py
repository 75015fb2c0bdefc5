"""The console's rating pages: progress, invite links, the leak check, opening and closing rating."""
import pytest
from django.urls import reverse
from django.utils import timezone

from evalplat.experiments.models import Experiment
from evalplat.generation.models import Answer, sync_experiment_status
from evalplat.rating.models import Invite, LeakCheck, Rater
from evalplat.rating.opening import leak_check_state
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


def _status(experiment):
    experiment.refresh_from_db()
    return experiment.status


def test_rating_opens_only_from_ready_or_closed_and_after_a_current_leak_check(client, owner, experiment):
    client.force_login(owner)
    status = reverse("console:rating_status", args=[experiment.slug])
    page = client.post(status, {"action": "open-anyway"}, follow=True).content.decode()
    assert _status(experiment) == Experiment.Status.DRAFT
    assert "cannot be opened while the experiment is draft" in page and not LeakCheck.objects.exists()
    add_answers(experiment)
    sync_experiment_status(experiment)
    page = client.post(status, {"action": "open"}, follow=True).content.decode()
    assert _status(experiment) == Experiment.Status.READY
    assert "Rating did not open: the leak check has not run yet" in page
    client.post(reverse("console:leaks", args=[experiment.slug]))
    client.post(status, {"action": "open"})
    assert _status(experiment) == Experiment.Status.RATING
    page = client.post(status, {"action": "shut"}, follow=True).content.decode()
    assert _status(experiment) == Experiment.Status.RATING and "action: choose open, open-anyway or close" in page
    client.post(status, {"action": "close"})
    assert _status(experiment) == Experiment.Status.CLOSED
    client.post(status, {"action": "open"})             # the check still holds: the answers are frozen
    assert _status(experiment) == Experiment.Status.RATING
    assert not LeakCheck.objects.filter(kind=LeakCheck.Kind.OPENED_ANYWAY).exists()


def test_an_answer_written_after_the_check_makes_it_out_of_date(client, owner, experiment):
    client.force_login(owner)
    add_answers(experiment)
    sync_experiment_status(experiment)
    client.post(reverse("console:leaks", args=[experiment.slug]))
    assert leak_check_state(experiment).current
    Answer.objects.filter(pk=Answer.objects.filter(experiment=experiment).first().pk).update(
        text="rewritten", generated_at=timezone.now())
    state = leak_check_state(experiment)
    assert not state.current and "answers were written after the last leak check" in state.why_not_current
    page = client.post(reverse("console:rating_status", args=[experiment.slug]), {"action": "open"},
                       follow=True).content.decode()
    assert _status(experiment) == Experiment.Status.READY and "answers were written after" in page
    leaks_page = client.get(reverse("console:leaks", args=[experiment.slug])).content.decode()
    assert "Out of date" in leaks_page


def test_open_anyway_is_recorded_with_who_and_when(client, owner, experiment):
    client.force_login(owner)
    add_answers(experiment)
    sync_experiment_status(experiment)
    page = client.post(reverse("console:rating_status", args=[experiment.slug]), {"action": "open-anyway"},
                       follow=True).content.decode()
    assert _status(experiment) == Experiment.Status.RATING
    waiver = LeakCheck.objects.get()
    assert waiver.kind == LeakCheck.Kind.OPENED_ANYWAY and waiver.by == owner
    assert waiver.answers == experiment.variants.count() * experiment.queries.count()
    assert "Opened without a current leak check by owner" in page and "recorded" in page


def test_the_leak_page_says_the_check_is_current_right_after_it_ran(client, owner, experiment):
    client.force_login(owner)
    add_answers(experiment)
    url = reverse("console:leaks", args=[experiment.slug])
    assert "Not run yet" in client.get(url).content.decode()
    page = client.post(url, follow=True).content.decode()
    assert "Leak check done: 0 of 32 answers flagged" in page
    assert "Current." in page and "No flags: none of the 32 answers checked" in page
    assert "after the answers are generated" not in page and "Not run yet" not in page
    assert LeakCheck.objects.get().by == owner


def test_progress_counts_judgments_raters_and_attention_items(client, owner, study_invite, start_session):
    from django.test import Client

    rater = Client()
    item = start_session(rater, study_invite, PROLIFIC_PID="p1")
    rater.post(item, {"choice": "a1"})
    client.force_login(owner)
    page = client.get(reverse("console:rating", args=[study_invite.experiment.slug])).content.decode()
    assert "1 judging" in page
    assert '<div class="stat">1</div>' in page
    assert ">too fast</span>" not in page
    # A rater the rating pages flagged for answering faster than anyone can read is marked.
    Rater.objects.update(too_fast=True)
    page = client.get(reverse("console:rating", args=[study_invite.experiment.slug])).content.decode()
    assert ">too fast</span>" in page and "median time on an item under" in page


def test_the_rating_page_shows_raters_interim_effects_agreement_and_the_stopping_statement(client, owner, judged):
    from django.utils.html import escape

    from evalplat.analysis.interim import interim_look
    from evalplat.analysis.preview import DEFAULT_HALFWIDTH
    from evalplat.analysis.snapshots import analysis_for
    from evalplat.rating.models import Rater

    client.force_login(owner)
    page = client.get(reverse("console:rating", args=[judged.slug])).content.decode()
    result = analysis_for(judged)
    look = interim_look(result, DEFAULT_HALFWIDTH)
    assert escape(look.statement) in page and not look.reached
    for effect in result.tested_effects():
        assert f"<td>{effect.factor}: <strong>{effect.level}</strong></td><td class=\"n\">{effect.estimate:.2f}</td>" in page
        assert f"{effect.ci_low:.2f} to {effect.ci_high:.2f}" in page
    assert "From 120 judgments analysed." in page
    agreement = result.agreement
    assert (f"Krippendorff's α (ordinal) {agreement.alpha_ordinal:.2f}\n      on {agreement.multiply_rated_items} "
            f"items judged by two or more raters" in page.replace("&#x27;", "'"))
    for rater in Rater.objects.filter(experiment=judged):
        assert f"<td>r{rater.pk}" in page
    assert page.count('<td class="n">20</td>') == 6                 # 120 judgments over six raters
