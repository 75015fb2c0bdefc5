"""The rater's path: study link → consent → items → completion code, and its edge cases."""
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from evalplat.experiments.models import Experiment
from evalplat.rating.models import Assignment, Invite, Judgment, RatingQueue, Rater
from tests.rating.pages import moved_on_to

pytestmark = pytest.mark.django_db
PROLIFIC = {"PROLIFIC_PID": "pid-123", "STUDY_ID": "study-9", "SESSION_ID": "sess-7"}


def finish_session(client, item_url, choice="a1"):
    """Judge items until the session ends; returns the number judged and the final response."""
    judged = 0
    url = item_url
    while "/r/a/" in url:
        judged += 1
        url = moved_on_to(client.post(url, {"choice": choice}))  # the next item's page, or to the end
    return judged, client.get(url)


def test_a_prolific_participant_judges_a_session_and_gets_the_code(client, study_invite, start_session):
    item_url = start_session(client, study_invite, **PROLIFIC)
    rater = Rater.objects.get()
    assert rater.external_id == "pid-123" and rater.platform_params == PROLIFIC
    judged, done = finish_session(client, item_url)
    assert judged == 10  # per_rater in the small design
    page = done.content.decode()
    assert study_invite.completion_code in page
    assert f"https://app.prolific.com/submissions/complete?cc={study_invite.completion_code}" in page
    assert Judgment.objects.filter(assignment__rater=rater).count() == 10
    rater.refresh_from_db()
    assert rater.status == Rater.Status.FINISHED


def test_reopening_the_study_link_resumes_the_same_rater_in_the_same_browser(client, study_invite, start_session):
    first = start_session(client, study_invite, **PROLIFIC)
    again = start_session(client, study_invite, **PROLIFIC)
    assert first == again
    assert Rater.objects.count() == 1


def test_someone_else_with_the_participant_id_does_not_take_the_session_over(client, study_invite, start_session):
    item_url = start_session(client, study_invite, **PROLIFIC)
    thief = Client()
    response = thief.get(reverse("rating:start", args=[study_invite.token]), PROLIFIC)
    assert response.status_code == 403
    assert "started in another browser" in response.content.decode()
    assert thief.get(item_url).status_code == 404
    assert thief.post(item_url, {"choice": "a1"}).status_code == 404
    assert Rater.objects.count() == 1 and not Judgment.objects.exists()


def test_a_single_rater_link_stays_with_the_browser_that_opened_it(client, rating_experiment, start_session):
    invite = Invite.objects.create(experiment=rating_experiment, kind=Invite.Kind.SINGLE)
    item_url = start_session(client, invite)
    assert start_session(client, invite) == item_url
    other = Client().get(reverse("rating:start", args=[invite.token]))
    assert other.status_code == 403 and "started in another browser" in other.content.decode()
    assert Rater.objects.count() == 1


def test_the_mturk_preview_shows_instructions_and_creates_nobody(client, rating_experiment):
    invite = Invite.objects.create(experiment=rating_experiment, platform=Invite.Platform.MTURK)
    response = client.get(reverse("rating:start", args=[invite.token]), {"assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE"})
    assert response.status_code == 200 and "Accept the HIT" in response.content.decode()
    assert not Rater.objects.exists()


def test_an_mturk_worker_submits_the_hit_back_to_mturk(client, rating_experiment, start_session):
    invite = Invite.objects.create(experiment=rating_experiment, platform=Invite.Platform.MTURK)
    item_url = start_session(client, invite, workerId="W1", assignmentId="A1", hitId="H1",
                             turkSubmitTo="https://workersandbox.mturk.com")
    _, done = finish_session(client, item_url)
    page = done.content.decode()
    assert 'action="https://workersandbox.mturk.com/mturk/externalSubmit"' in page
    assert 'name="assignmentId" value="A1"' in page
    assert "form-action 'self' https://workersandbox.mturk.com" in done["Content-Security-Policy"]


def test_a_foreign_submit_target_is_not_trusted(client, rating_experiment, start_session):
    invite = Invite.objects.create(experiment=rating_experiment, platform=Invite.Platform.MTURK)
    item_url = start_session(client, invite, workerId="W1", assignmentId="A1", turkSubmitTo="https://evil.example")
    _, done = finish_session(client, item_url)
    assert "evil.example" not in done.content.decode()


def test_a_revoked_link_is_a_404(client, study_invite):
    study_invite.revoked_at = timezone.now()
    study_invite.save()
    assert client.get(reverse("rating:start", args=[study_invite.token])).status_code == 404


def test_a_closed_experiment_hands_out_nothing(client, study_invite, start_session):
    assert study_invite.experiment.close_rating()
    response = client.get(reverse("rating:start", args=[study_invite.token]), PROLIFIC)
    assert "not open" in response.content.decode()
    assert not Assignment.objects.handed_out().exists()


def test_items_wait_for_consent(client, study_invite):
    client.get(reverse("rating:start", args=[study_invite.token]), PROLIFIC)
    assert client.get(reverse("rating:next"))["Location"] == reverse("rating:welcome")
    assert client.post(reverse("rating:welcome"), {}).status_code == 400
    assert not Assignment.objects.handed_out().exists()


def test_a_repeated_submit_records_one_judgment_and_moves_on(client, study_invite, start_session):
    item_url = start_session(client, study_invite, **PROLIFIC)
    first = client.post(item_url, {"choice": "a2"})
    second = client.post(item_url, {"choice": "b2"})
    assert first.status_code == second.status_code == 200
    assert moved_on_to(second) == moved_on_to(first) != item_url  # both show the same next item
    assert Judgment.objects.count() == 1
    assert Judgment.objects.get().winner == "left"
    # The back button lands on the judged item: it moves on instead of showing it again.
    assert client.get(item_url)["Location"] == reverse("rating:next")


def test_reloading_an_item_keeps_the_same_item_and_its_clock(client, study_invite, start_session):
    item_url = start_session(client, study_invite, **PROLIFIC)
    client.get(item_url)
    shown = Assignment.objects.handed_out().get().issued_at
    client.get(item_url)
    assert client.get(reverse("rating:next"))["Location"] == item_url
    assert Assignment.objects.handed_out().get().issued_at == shown  # the clock runs from the claim
    Assignment.objects.handed_out().update(issued_at=timezone.now() - timedelta(seconds=7))
    client.post(item_url, {"choice": "same"})
    judgment = Judgment.objects.get()
    assert 7000 <= judgment.time_on_item_ms < 60000
    assert (judgment.winner, judgment.strength) == ("tie", None)


def test_a_rater_cannot_open_or_answer_another_raters_item(client, study_invite, start_session):
    item_url = start_session(client, study_invite, **PROLIFIC)
    other = Client()
    start_session(other, study_invite, PROLIFIC_PID="someone-else")
    assert other.get(item_url).status_code == 404
    assert other.post(item_url, {"choice": "a1"}).status_code == 404
    assert Client().post(item_url, {"choice": "a1"}).status_code == 404
    assert not Judgment.objects.exists()


def test_posts_need_the_csrf_token(study_invite):
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("rating:start", args=[study_invite.token]), PROLIFIC)
    assert client.post(reverse("rating:welcome"), {"consent": "yes"}).status_code == 403


def test_a_missing_choice_or_required_rationale_is_asked_for(client, study_invite, start_session):
    item_url = start_session(client, study_invite, **PROLIFIC)
    response = client.post(item_url, {})
    assert response.status_code == 400 and "Please choose an answer." in response.content.decode()
    rating = dict(study_invite.experiment.rating, rationale="required")
    Experiment.objects.update(rating=rating)
    response = client.post(item_url, {"choice": "b1"})
    assert response.status_code == 400 and "Please say briefly why." in response.content.decode()
    assert moved_on_to(client.post(item_url, {"choice": "b1", "rationale": "clearer", "both_bad": "on"})) != item_url
    judgment = Judgment.objects.get()
    assert (judgment.winner, judgment.strength, judgment.both_bad, judgment.rationale) == ("right", 1, True, "clearer")


@pytest.mark.parametrize("scale, values", [
    ("2-way", ["a", "b"]), ("3-way", ["a", "same", "b"]), ("5-point", ["a2", "a1", "same", "b1", "b2"]),
])
def test_the_design_chooses_the_scale_and_extras(client, study_invite, start_session, scale, values):
    rating = dict(study_invite.experiment.rating, scale=scale, both_bad=False, rationale="off")
    Experiment.objects.update(rating=rating)
    page = client.get(start_session(client, study_invite, **PROLIFIC)).content.decode()
    assert [v for v in values if f'name="choice" value="{v}"' in page] == values
    assert 'name="both_bad"' not in page and 'name="rationale"' not in page
    for key in range(1, len(values) + 1):
        assert f'data-key="{key}"' in page


def test_reporting_a_problem_skips_the_item(client, study_invite, start_session):
    item_url = start_session(client, study_invite, **PROLIFIC)
    response = client.post(item_url + "problem/", {"problem": "broken", "note": "cut off"})
    next_url = moved_on_to(response)
    assert "/r/a/" in next_url and next_url != item_url
    skipped = Assignment.objects.get(public_id=item_url.rstrip("/").split("/")[-1])
    assert (skipped.status, skipped.problem, skipped.problem_note) == ("skipped", "broken", "cut off")
    assert client.get(reverse("rating:next"))["Location"] == next_url


def test_an_invalid_problem_report_says_what_is_missing(client, study_invite, start_session):
    item_url = start_session(client, study_invite, **PROLIFIC)
    for data in ({}, {"problem": "no-such-problem", "note": "x"}):
        response = client.post(item_url + "problem/", data)
        assert response.status_code == 400
        page = response.content.decode()
        assert "Please choose what is wrong with this item." in page and 'id="judge"' in page
    item = Assignment.objects.get(public_id=item_url.rstrip("/").split("/")[-1])
    assert item.status == Assignment.Status.ISSUED and item.problem == ""


def test_failing_attention_items_warns_then_stops_the_rater(client, study_invite, start_session, settings):
    settings.RATING_GOLD_WARN_AFTER, settings.RATING_GOLD_STOP_AFTER = 1, 2
    Experiment.objects.update(rating=dict(study_invite.experiment.rating, gold_rate=1.0))
    url = start_session(client, study_invite, **PROLIFIC)
    for _ in range(2):
        gold = Assignment.objects.get(public_id=url.rstrip("/").split("/")[-1])
        on_topic, off_topic = ((gold.left_answer, gold.right_answer) if gold.gold_better == "left"
                               else (gold.right_answer, gold.left_answer))
        assert gold.is_gold and on_topic.query_id == gold.query_id != off_topic.query_id
        wrong = "b2" if gold.gold_better == "left" else "a2"
        client.post(url, {"choice": wrong})
        url = client.get(reverse("rating:next"))["Location"]
        if "/r/a/" in url:
            assert "read both responses carefully" in client.get(url).content.decode()
    done = client.get(url).content.decode()
    assert "This session has ended" in done and study_invite.completion_code not in done
    assert Rater.objects.get().status == Rater.Status.STOPPED


def test_an_abandoned_item_is_handed_on_once_and_its_late_judgment_is_kept(client, study_invite, start_session):
    Experiment.objects.update(rating=dict(study_invite.experiment.rating, gold_rate=0.0, overlap=0.0))
    abandoned_url = start_session(client, study_invite, **PROLIFIC)
    abandoned = Assignment.objects.handed_out().get()
    Assignment.objects.handed_out().update(expires_at=timezone.now() - timedelta(minutes=1))
    # A minute later the next rater's item page tops the queue up (after the page is sent): the
    # abandoned item is queued again, ahead of everything else, and the rater after that gets it.
    RatingQueue.objects.update(refilled_at=timezone.now() - timedelta(minutes=2))
    second, third = Client(), Client()
    assert second.get(start_session(second, study_invite, PROLIFIC_PID="p2")).status_code == 200
    third_url = start_session(third, study_invite, PROLIFIC_PID="p3")
    reissues = Assignment.objects.filter(kind=Assignment.Kind.REISSUE)
    assert reissues.count() == 1
    reissue = reissues.get()
    assert third_url.endswith(f"/{reissue.public_id}/") and reissue.rater.external_id == "p3"
    abandoned.refresh_from_db()
    assert abandoned.status == Assignment.Status.EXPIRED
    assert (reissue.source_id, reissue.query_id, reissue.left_answer_id, reissue.right_answer_id) == (
        abandoned.pk, abandoned.query_id, abandoned.left_answer_id, abandoned.right_answer_id)
    # The first rater comes back and answers after all: the judgment counts.
    assert client.post(abandoned_url, {"choice": "a1"}).status_code == 200  # and on to their next item
    assert Judgment.objects.filter(assignment=abandoned).count() == 1


def test_a_share_of_items_goes_to_a_second_rater(study_invite, start_session, settings):
    # Replicas of judged items are planned at each refill; a small queue refills often enough to
    # keep the share on target over these 40 items (with the default size it lags by up to 64 items).
    settings.RATING_QUEUE_SIZE = 4
    Experiment.objects.update(rating=dict(study_invite.experiment.rating, gold_rate=0.0, overlap=0.25))
    for n in range(4):
        client = Client()
        judged, _ = finish_session(client, start_session(client, study_invite, PROLIFIC_PID=f"p{n}"))
    replicas = Assignment.objects.handed_out().filter(kind=Assignment.Kind.REPLICA)
    originals = Assignment.objects.handed_out().exclude(kind=Assignment.Kind.REPLICA).count()
    assert replicas.count() == pytest.approx(0.25 * originals, abs=2)
    for replica in replicas:
        assert replica.rater_id != replica.source.rater_id
        assert {replica.left_answer_id, replica.right_answer_id} == {
            replica.source.left_answer_id, replica.source.right_answer_id}


def test_no_rater_meets_the_same_query_and_pair_twice(study_invite, start_session):
    for n in range(3):
        client = Client()
        finish_session(client, start_session(client, study_invite, PROLIFIC_PID=f"p{n}"))
    seen = set()
    for a in Assignment.objects.handed_out().filter(is_gold=False).select_related("left_answer", "right_answer"):
        cell = (a.rater_id, a.query_id, frozenset({a.left_answer.variant_id, a.right_answer.variant_id}))
        assert cell not in seen
        seen.add(cell)
