"""The judging page's forms: what they render, blank (rendered once per layout) and bound (what was chosen)."""
import re

import pytest
from django.utils.safestring import SafeString

from designs.spec import Criterion, RatingSettings
from evalplat.rating.forms import ProblemForm, item_forms_html, judgment_form

ONE_QUESTION = RatingSettings(scale="5-point")
TWO_CRITERIA = RatingSettings(criteria=(Criterion("honesty", "Which is more honest?", "3-way"),
                                        Criterion("warmth", "Which is warmer?", "5-point")))


def checked(html):
    return re.findall(r'name="([^"]+)" value="([^"]+)"[^>]*\bchecked\b', html)


def test_a_blank_form_renders_its_rows_and_checks_nothing():
    first = judgment_form(rating=ONE_QUESTION, question="Which is better?").rows_html()
    assert first.count('type="radio" name="choice"') == 5 and not checked(first)
    assert "Which is better?" in first and "several" not in first
    other = judgment_form(rating=ONE_QUESTION, question="Which is kinder?").rows_html()
    assert "Which is kinder?" in other and "Which is better?" not in other


def test_blank_item_forms_are_rendered_once_per_layout_with_the_items_id_and_token_put_in(monkeypatch):
    from evalplat.rating import forms

    form = judgment_form(rating=TWO_CRITERIA, question="unused")
    html = item_forms_html(form, ProblemForm(), item_id="Item_Id-1", csrf_token="Token123")
    # Exactly what rendering these forms for this item gives ...
    assert html == forms._item_forms_html(form, ProblemForm(), "Item_Id-1", "Token123")
    assert html.count('action="/r/a/Item_Id-1/"') == 1 and html.count('action="/r/a/Item_Id-1/problem/"') == 1
    assert html.count('name="csrfmiddlewaretoken" value="Token123"') == 2 and "*" not in html
    # ... rendered once: another item of the layout renders nothing.
    monkeypatch.setattr(forms, "_item_forms_html", lambda *args: pytest.fail("rendered again"))
    again = item_forms_html(judgment_form(rating=TWO_CRITERIA, question="unused"), ProblemForm(),
                            item_id="Other", csrf_token="Token456")
    assert again == html.replace("Item_Id-1", "Other").replace("Token123", "Token456")
    assert isinstance(again, SafeString)


def test_bound_item_forms_show_the_choice_and_the_errors():
    form = judgment_form({"choice-2": "b1"}, rating=TWO_CRITERIA, question="unused")
    assert not form.is_valid()
    html = item_forms_html(form, ProblemForm(), item_id="Item", csrf_token="Token")
    assert checked(html) == [("choice-2", "b1")] and "Please answer “Which is more honest?”." in html
    problem = ProblemForm({"note": "x"})
    assert not problem.is_valid()
    html = item_forms_html(judgment_form(rating=TWO_CRITERIA, question="unused"), problem, item_id="I", csrf_token="T")
    assert '<details class="problem" open>' in html and "Please choose what is wrong with this item." in html


def test_several_criteria_get_numbered_rows_of_their_own_scale():
    html = judgment_form(rating=TWO_CRITERIA, question="unused").rows_html()
    assert html.count('class="criterion several"') == 2
    assert html.count('name="choice-1"') == 3 and html.count('name="choice-2"') == 5
    assert 'id="choice-2-5"' in html and 'for="choice-2-5"' in html and not checked(html)


def test_a_bound_form_shows_what_was_chosen():
    form = judgment_form({"choice-2": "b1"}, rating=TWO_CRITERIA, question="unused")
    assert not form.is_valid()  # the first question is unanswered: the page comes back with the choice kept
    assert checked(form.rows_html()) == [("choice-2", "b1")]
    assert not checked(judgment_form(rating=TWO_CRITERIA, question="unused").rows_html())


def test_the_problem_choices_blank_and_bound():
    blank = ProblemForm().choices_html()
    assert blank.count('name="problem"') == 4 and not checked(blank)
    assert checked(ProblemForm({"problem": "other"}).choices_html()) == [("problem", "other")]


def test_a_layouts_form_class_is_made_once_and_asks_what_the_design_says():
    strict = RatingSettings(both_bad=False, rationale="required")
    first, second = (judgment_form(rating=strict, question="Which is better?") for _ in range(2))
    assert type(first) is type(second) and first.fields is not second.fields  # one class, fields of its own
    assert list(first.fields) == ["choice", "rationale"] and first.fields["rationale"].label == "Why?"
    bound = judgment_form({"choice": "a1", "rationale": " "}, rating=strict, question="Which is better?")
    assert not bound.is_valid() and bound.errors["rationale"] == ["Please say briefly why."]
    relaxed = judgment_form({"choice": "b2", "both_bad": "on"}, rating=ONE_QUESTION, question="Which is better?")
    assert list(relaxed.fields) == ["choice", "both_bad", "rationale"] and relaxed.is_valid()
    assert relaxed.judgment_fields() == {"answers": [("", "right", 2)], "both_bad": True, "rationale": ""}
    off = judgment_form(rating=RatingSettings(rationale="off"), question="Which is better?")
    assert "rationale" not in off.fields
