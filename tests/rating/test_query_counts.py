"""Every rater request runs a fixed, small number of SQL statements, whatever the experiment's history.

Transactional tests, so that the views' transactions are the outermost ones, as
in production (inside pytest-django's usual per-test transaction each would be a
savepoint, two more statements). MAX_QUERIES counts the statements besides BEGIN
and COMMIT (tests/rating/statements.py), which Django logs on SQLite only.
"""
import pytest
from django.test import Client
from django.urls import reverse

from benchmarks.history import load_history
from evalplat.experiments.models import Experiment
from evalplat.rating.models import Assignment, Invite
from tests.rating.pages import moved_on_to
from tests.rating.statements import at_most_statements

pytestmark = pytest.mark.django_db(transaction=True)
MAX_QUERIES = 8
PID = {"PROLIFIC_PID": "counted", "STUDY_ID": "s", "SESSION_ID": "x"}


@pytest.fixture
def invite(rating_experiment):
    return Invite.objects.create(experiment=rating_experiment, platform=Invite.Platform.PROLIFIC)


def consented(client, invite, pid="counted"):
    client.get(reverse("rating:start", args=[invite.token]), dict(PID, PROLIFIC_PID=pid))
    return moved_on_to(client.post(reverse("rating:welcome"), {"consent": "yes"}))


def test_a_new_participant_opens_the_study_link(client, invite):
    with at_most_statements(MAX_QUERIES):
        response = client.get(reverse("rating:start", args=[invite.token]), PID)
    assert response.status_code == 302
    with at_most_statements(MAX_QUERIES):
        assert client.get(reverse("rating:welcome")).status_code == 200


def test_consenting_goes_straight_to_the_first_item(client, invite):
    consented(Client(), invite, pid="someone-first")  # the first request of an experiment plans inline
    client.get(reverse("rating:start", args=[invite.token]), PID)
    with at_most_statements(MAX_QUERIES):
        response = client.post(reverse("rating:welcome"), {"consent": "yes"})
    assert "/r/a/" in moved_on_to(response)  # the first item's page


@pytest.mark.parametrize("history", [0, 1200])
def test_next_item_show_judge_report_and_done(client, invite, history):
    if history:
        load_history(invite.experiment, history, seed=1)
    url = consented(client, invite)
    with at_most_statements(MAX_QUERIES):
        assert client.get(reverse("rating:next"))["Location"] == url
    with at_most_statements(MAX_QUERIES):
        assert client.get(url).status_code == 200
    with at_most_statements(MAX_QUERIES):
        judged = client.post(url, {"choice": "a1", "rationale": "clear"})
    url = moved_on_to(judged)
    assert "/r/a/" in url
    Experiment.objects.update(rating=dict(invite.experiment.rating, per_rater=2))
    with at_most_statements(MAX_QUERIES):
        reported = client.post(url + "problem/", {"problem": "broken"})
    assert reported["Location"] == reverse("rating:done")
    with at_most_statements(MAX_QUERIES):
        assert client.get(reverse("rating:next"))["Location"] == reverse("rating:done")
    with at_most_statements(MAX_QUERIES):
        assert invite.completion_code in client.get(reverse("rating:done")).content.decode()


def test_a_failed_attention_item_costs_no_more(client, invite):
    Experiment.objects.update(rating=dict(invite.experiment.rating, gold_rate=1.0))
    url = consented(client, invite)
    gold = Assignment.objects.get(public_id=url.rstrip("/").split("/")[-1])
    assert gold.is_gold
    wrong = "b2" if gold.gold_better == "left" else "a2"
    with at_most_statements(MAX_QUERIES):
        response = client.post(url, {"choice": wrong})
    assert "/r/a/" in moved_on_to(response)
    gold.rater.refresh_from_db()
    assert gold.rater.gold_failures == 1


def test_a_judgment_is_one_request_of_one_short_transaction(client, invite):
    """The one request every judgment costs, its statements pinned tighter than MAX_QUERIES (evalplat.rating.rows)."""
    consented(Client(), invite, pid="someone-first")  # the first request of an experiment plans inline
    url = consented(client, invite)
    for _ in range(6):
        # Lock the rater (with experiment, link and queue), their items, the judgment (UPDATE and INSERT),
        # the claim, the next item with its texts and the progress. At an attention item's slot
        # a second claim when no attention item suits; attention items here are answered right (a failed
        # one also counts against the rater: one more UPDATE, test_a_failed_attention_item_costs_no_more).
        item = Assignment.objects.get(public_id=url.rstrip("/").split("/")[-1])
        choice = "b1" if item.is_gold and item.gold_better == Assignment.Side.RIGHT else "a1"
        with at_most_statements(6) as counted:
            judged = client.post(url, {"choice": choice, "rationale": ""})
        assert len(counted) >= 5
        url = moved_on_to(judged)
        assert "/r/a/" in url
