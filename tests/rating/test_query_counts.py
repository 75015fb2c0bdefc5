"""Every rater request runs a fixed, small number of SQL queries, whatever the experiment's history.

Transactional tests, so that the views' transactions are the outermost ones, as
in production (inside pytest-django's usual per-test transaction each would be a
savepoint, two more statements). SQLite logs its BEGIN as a statement; PostgreSQL
does not: both stay within MAX_QUERIES.
"""
import pytest
from django.test import Client
from django.urls import reverse

from benchmarks.history import load_history
from evalplat.experiments.models import Experiment
from evalplat.rating.models import Assignment, Invite

pytestmark = pytest.mark.django_db(transaction=True)
MAX_QUERIES = 8
PID = {"PROLIFIC_PID": "counted", "STUDY_ID": "s", "SESSION_ID": "x"}


@pytest.fixture
def invite(rating_experiment):
    return Invite.objects.create(experiment=rating_experiment, platform=Invite.Platform.PROLIFIC)


def consented(client, invite, pid="counted"):
    client.get(reverse("rating:start", args=[invite.token]), dict(PID, PROLIFIC_PID=pid))
    return client.post(reverse("rating:welcome"), {"consent": "yes"})["Location"]


def test_a_new_participant_opens_the_study_link(client, invite, django_assert_max_num_queries):
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(reverse("rating:start", args=[invite.token]), PID)
    assert response.status_code == 302
    with django_assert_max_num_queries(MAX_QUERIES):
        assert client.get(reverse("rating:welcome")).status_code == 200


def test_consenting_goes_straight_to_the_first_item(client, invite, django_assert_max_num_queries):
    consented(Client(), invite, pid="someone-first")  # the first request of an experiment plans inline
    client.get(reverse("rating:start", args=[invite.token]), PID)
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.post(reverse("rating:welcome"), {"consent": "yes"})
    assert "/r/a/" in response["Location"]


@pytest.mark.parametrize("history", [0, 1200])
def test_next_item_show_judge_report_and_done(client, invite, django_assert_max_num_queries, history):
    if history:
        load_history(invite.experiment, history, seed=1)
    url = consented(client, invite)
    with django_assert_max_num_queries(MAX_QUERIES):
        assert client.get(reverse("rating:next"))["Location"] == url
    with django_assert_max_num_queries(MAX_QUERIES):
        assert client.get(url).status_code == 200
    with django_assert_max_num_queries(MAX_QUERIES):
        judged = client.post(url, {"choice": "a1", "rationale": "clear"})
    assert judged.status_code == 302 and "/r/a/" in judged["Location"]
    url = judged["Location"]
    client.get(url)
    Experiment.objects.update(rating=dict(invite.experiment.rating, per_rater=2))
    with django_assert_max_num_queries(MAX_QUERIES):
        reported = client.post(url + "problem/", {"problem": "broken"})
    assert reported["Location"] == reverse("rating:done")
    with django_assert_max_num_queries(MAX_QUERIES):
        assert client.get(reverse("rating:next"))["Location"] == reverse("rating:done")
    with django_assert_max_num_queries(MAX_QUERIES):
        assert invite.completion_code in client.get(reverse("rating:done")).content.decode()


def test_a_failed_attention_item_costs_no_more(client, invite, django_assert_max_num_queries):
    Experiment.objects.update(rating=dict(invite.experiment.rating, gold_rate=1.0))
    url = consented(client, invite)
    gold = Assignment.objects.get(public_id=url.rstrip("/").split("/")[-1])
    assert gold.is_gold
    wrong = "b2" if gold.gold_better == "left" else "a2"
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.post(url, {"choice": wrong})
    assert "/r/a/" in response["Location"]
    gold.rater.refresh_from_db()
    assert gold.rater.gold_failures == 1


def test_the_judging_loop_reads_twice_and_writes_in_one_short_transaction(client, invite, django_assert_num_queries,
                                                                          django_assert_max_num_queries):
    """The two requests every judgment costs, pinned tighter than MAX_QUERIES (evalplat.rating.rows)."""
    consented(Client(), invite, pid="someone-first")  # the first request of an experiment plans inline
    url = consented(client, invite)
    for _ in range(3):
        with django_assert_num_queries(2):  # the rater (with experiment, link and queue); the item, texts, progress
            assert client.get(url).status_code == 200
        # BEGIN, lock the rater, their items, the judgment (UPDATE and INSERT), the claim (at an attention
        # item's slot, a second claim when none suits). Attention items answered right: a failed one
        # also counts against the rater (one more UPDATE, test_a_failed_attention_item_costs_no_more).
        item = Assignment.objects.get(public_id=url.rstrip("/").split("/")[-1])
        choice = "b1" if item.is_gold and item.gold_better == Assignment.Side.RIGHT else "a1"
        with django_assert_max_num_queries(7):
            judged = client.post(url, {"choice": choice, "rationale": ""})
        assert judged.status_code == 302 and "/r/a/" in judged["Location"]
        url = judged["Location"]
