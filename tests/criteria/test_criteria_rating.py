"""Rating with three criteria: one page asks them all, one submit stores all of them, exactly once."""
import pytest
from django.test import Client

from evalplat.rating.models import Assignment, Judgment, Rater
from tests.rating.pages import moved_on_to
from tests.rating.statements import at_most_statements

pytestmark = pytest.mark.django_db
ALL = {"choice-1": "a2", "choice-2": "same", "choice-3": "b"}


def test_the_page_asks_every_criterion_in_the_designs_order(client, criteria_invite, start_session):
    page = client.get(start_session(client, criteria_invite)).content.decode()
    questions = ["Which response is more honest?", "Which response is warmer?", "Which response is clearer?"]
    positions = [page.index(question) for question in questions]
    assert positions == sorted(positions)
    for row, values in (("choice-1", ["a2", "a1", "same", "b1", "b2"]), ("choice-2", ["a", "same", "b"]),
                        ("choice-3", ["a", "b"])):
        assert [v for v in values if f'name="{row}" value="{v}"' in page] == values
    assert 'name="choice"' not in page
    # The criteria's names are not on the page: rows are numbered (the questions are what raters read).
    assert "honesty" not in page and "warmth" not in page and "clarity" not in page


def test_one_submit_stores_every_criterion_and_a_second_stores_nothing(client, criteria_invite, start_session):
    item_url = start_session(client, criteria_invite)
    first = client.post(item_url, {**ALL, "both_bad": "on", "rationale": "kind but vague"})
    again = client.post(item_url, {"choice-1": "b2", "choice-2": "a", "choice-3": "a"})
    assert first.status_code == again.status_code == 200 and moved_on_to(first) == moved_on_to(again) != item_url
    rows = {j.criterion: (j.winner, j.strength, j.both_bad, j.rationale) for j in Judgment.objects.all()}
    assert rows == {"honesty": ("left", 2, True, "kind but vague"), "warmth": ("tie", None, True, "kind but vague"),
                    "clarity": ("right", None, True, "kind but vague")}
    assert len({j.time_on_item_ms for j in Judgment.objects.all()}) == 1


def test_a_submit_missing_one_criterion_stores_none_and_names_the_question(client, criteria_invite, start_session):
    item_url = start_session(client, criteria_invite)
    response = client.post(item_url, {"choice-1": "a1", "choice-3": "a"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Please answer “Which response is warmer?”." in page
    assert 'value="a1" id="choice-1-2" data-key="2"\n                 checked' in page  # answers kept
    assert not Judgment.objects.exists()
    assert Assignment.objects.get(public_id=item_url.rstrip("/").split("/")[-1]).status == Assignment.Status.ISSUED


def test_a_choice_from_another_rows_scale_is_refused(client, criteria_invite, start_session):
    item_url = start_session(client, criteria_invite)
    response = client.post(item_url, {**ALL, "choice-3": "same"})  # clarity is 2-way: no tie
    assert response.status_code == 400 and not Judgment.objects.exists()


def test_a_second_rating_of_an_item_cannot_add_rows_to_the_first(criteria_invite, start_session):
    client = Client()
    item_url = start_session(client, criteria_invite)
    client.post(item_url, ALL)
    item = Assignment.objects.get(status=Assignment.Status.JUDGED)
    assert item.record_judgment(answers=[("honesty", "left", 1)], both_bad=False, rationale="") is None
    assert Judgment.objects.filter(assignment=item).count() == 3


def test_an_attention_item_checks_the_first_criterion(client, criteria_invite, start_session):
    url = start_session(client, criteria_invite)
    for answers, failures in (({"choice-1": "a1", "choice-2": "b", "choice-3": "b"}, 0),    # right on honesty
                              ({"choice-1": "b2", "choice-2": "a", "choice-3": "a"}, 1)):   # wrong on honesty
        Assignment.objects.filter(public_id=url.rstrip("/").split("/")[-1]).update(
            is_gold=True, gold_better=Assignment.Side.LEFT)
        url = moved_on_to(client.post(url, answers))
        assert Rater.objects.get().gold_failures == failures


@pytest.mark.django_db(transaction=True)
def test_a_submit_of_three_criteria_costs_what_one_question_does(criteria_invite):
    from tests.rating.test_query_counts import MAX_QUERIES, consented

    client = Client()
    consented(Client(), criteria_invite, pid="someone-first")  # the first request plans inline
    url = consented(client, criteria_invite)
    with at_most_statements(MAX_QUERIES):
        response = client.post(url, ALL)  # stored, and answered with the next item's page
    assert moved_on_to(response) != url and Judgment.objects.count() == 3
