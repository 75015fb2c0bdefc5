"""The judging page's forms: what they render, blank (rendered once per layout) and bound (what was chosen)."""
import re

from designs.spec import Criterion, RatingSettings
from evalplat.rating.forms import JudgmentForm, ProblemForm

ONE_QUESTION = RatingSettings(scale="5-point")
TWO_CRITERIA = RatingSettings(criteria=(Criterion("honesty", "Which is more honest?", "3-way"),
                                        Criterion("warmth", "Which is warmer?", "5-point")))


def checked(html):
    return re.findall(r'name="([^"]+)" value="([^"]+)"[^>]*\bchecked\b', html)


def test_a_blank_form_renders_each_layouts_rows_once_and_checks_nothing():
    first = JudgmentForm(rating=ONE_QUESTION, question="Which is better?").rows_html()
    again = JudgmentForm(rating=ONE_QUESTION, question="Which is better?").rows_html()
    assert again is first  # the same rendering, not a second one
    assert first.count('type="radio" name="choice"') == 5 and not checked(first)
    assert "Which is better?" in first and "several" not in first
    other = JudgmentForm(rating=ONE_QUESTION, question="Which is kinder?").rows_html()
    assert "Which is kinder?" in other and "Which is better?" not in other


def test_several_criteria_get_numbered_rows_of_their_own_scale():
    html = JudgmentForm(rating=TWO_CRITERIA, question="unused").rows_html()
    assert html.count('class="criterion several"') == 2
    assert html.count('name="choice-1"') == 3 and html.count('name="choice-2"') == 5
    assert 'id="choice-2-5"' in html and 'for="choice-2-5"' in html and not checked(html)


def test_a_bound_form_shows_what_was_chosen():
    form = JudgmentForm({"choice-2": "b1"}, rating=TWO_CRITERIA, question="unused")
    assert not form.is_valid()  # the first question is unanswered: the page comes back with the choice kept
    assert checked(form.rows_html()) == [("choice-2", "b1")]
    assert not checked(JudgmentForm(rating=TWO_CRITERIA, question="unused").rows_html())


def test_the_problem_choices_blank_and_bound():
    blank = ProblemForm().choices_html()
    assert ProblemForm().choices_html() is blank and blank.count('name="problem"') == 4 and not checked(blank)
    assert checked(ProblemForm({"problem": "other"}).choices_html()) == [("problem", "other")]
