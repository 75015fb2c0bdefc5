"""The judging form, shaped by the design's [rating] settings."""
from dataclasses import dataclass
from functools import lru_cache

from django import forms
from django.template import loader
from django.utils.safestring import mark_safe

from designs.spec import SCALE_OUTCOMES
from evalplat.rating.models import Invite


@dataclass(frozen=True)
class Choice:
    value: str  # what the browser posts: says nothing beyond the rater's own choice
    label: str
    key: str  # keyboard shortcut
    winner: str
    strength: int | None


# How each outcome of designs.spec.SCALE_OUTCOMES reads on the page: the value the browser posts
# (it says nothing beyond the rater's own choice) and the label. "Left" is Response A.
_SHOWN = {
    ("left", 2): ("a2", "A is much better"), ("left", 1): ("a1", "A is better"),
    ("left", None): ("a", "A is better"), ("tie", None): ("same", "About the same"),
    ("right", None): ("b", "B is better"), ("right", 1): ("b1", "B is better"),
    ("right", 2): ("b2", "B is much better"),
}


def _choices(outcomes):
    """A's side first, as a rater reads left to right; shortcuts 1, 2, ... in that order."""
    return tuple(Choice(*_SHOWN[outcome], key=str(number), winner=outcome[0], strength=outcome[1])
                 for number, outcome in enumerate(reversed(outcomes), start=1))


SCALES = {name: _choices(outcomes) for name, outcomes in SCALE_OUTCOMES.items()}

PROBLEMS = [
    ("broken", "A response is broken or cut off"),
    ("offensive", "A response is offensive or unsafe"),
    ("unreadable", "I can't read or understand it"),
    ("other", "Something else"),
]




@dataclass(frozen=True)
class Row:
    """One criterion on the judging page: its question, its own row of choices and its form field."""
    index: int  # 0 for the first row; the page's number keys answer the rows top to bottom
    name: str  # the posted field: "choice" for a design's one question, "choice-2" for its second criterion
    question: str
    choices: tuple  # of Choice


def judgment_form(data=None, *, rating, question):
    """The judging form for `rating` (the experiment's designs.spec.RatingSettings) and its top-level
    `question`, bound to `data` if given."""
    return _judgment_form_class(rating.asked(question), rating.both_bad, rating.rationale)(data)


@lru_cache(maxsize=256)
def _judgment_form_class(criteria, both_bad, rationale):
    """The JudgmentForm of one layout, made once per process: building its fields was a twentieth
    of a rater request's CPU under load, and Django copies a form class's fields for each form.

    One radio field per criterion, in the design's order. Field names carry the row's number,
    never the criterion's name, so nothing posted or shown says more than the questions do.
    """
    several = len(criteria) > 1
    fields, rows = {}, []
    for index, criterion in enumerate(criteria):
        name = f"choice-{index + 1}" if several else "choice"
        choices = SCALES[criterion.scale]
        missing = f"Please answer “{criterion.question}”." if several else "Please choose an answer."
        fields[name] = forms.ChoiceField(
            widget=forms.RadioSelect, choices=[(c.value, c.label) for c in choices],
            error_messages={"required": missing, "invalid_choice": missing})
        rows.append(Row(index=index, name=name, question=criterion.question, choices=choices))
    if both_bad:
        fields["both_bad"] = forms.BooleanField(required=False, label="Both responses are bad")
    if rationale != "off":
        required = rationale == "required"
        fields["rationale"] = forms.CharField(
            required=required, max_length=4000, widget=forms.Textarea(attrs={"rows": 3}),
            label="Why?" if required else "Why? (optional)",
            error_messages={"required": "Please say briefly why."} if required else None)
    return type("JudgmentForm", (JudgmentForm,), {
        **fields, "criteria": criteria, "rows": tuple(rows), "most_choices": max(len(row.choices) for row in rows)})


class JudgmentForm(forms.Form):
    """A layout's judging form (made by judgment_form): its rows of choices first, then "both bad"
    and the rationale where the design asks for them."""

    criteria = ()
    rows = ()
    most_choices = 0

    def rows_html(self):
        """The page's rows of choices, with what a bound form (the page again, with an error) chose."""
        return _rows_html(tuple((row, self[row.name].value()) for row in self.rows))

    def judgment_fields(self):
        answers = []
        for criterion, row in zip(self.criteria, self.rows):
            chosen = next(c for c in row.choices if c.value == self.cleaned_data[row.name])
            answers.append((criterion.name, chosen.winner, chosen.strength))
        return {
            "answers": answers,
            "both_bad": self.cleaned_data.get("both_bad", False),
            "rationale": self.cleaned_data.get("rationale", "").strip(),
        }


def _rows_html(rows_and_values):
    return loader.render_to_string("rating/judgment_rows.html",
                                   {"rows": rows_and_values, "several": len(rows_and_values) > 1})


class ProblemForm(forms.Form):
    problem = forms.ChoiceField(choices=PROBLEMS, widget=forms.RadioSelect, label="What's wrong?",
                                error_messages={"required": "Please choose what is wrong with this item.",
                                                "invalid_choice": "Please choose what is wrong with this item."})
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
                           label="Anything to add? (optional)")

    def choices_html(self):
        """The report's choices, with what a bound form chose."""
        return loader.render_to_string("rating/problem_choices.html",
                                       {"choices": PROBLEMS, "chosen": self["problem"].value()})


# Stand for the item's public id and the CSRF token in a blank page's forms rendered once per layout
# (item_forms_html): neither can contain "*" (public ids are token_urlsafe, CSRF tokens alphanumeric).
ITEM_SLOT = "*item*"
CSRF_SLOT = "*csrf*"


def item_forms_html(form, problem_form, *, item_id, csrf_token):
    """The item page's judging form and problem report (template rating/item_forms.html).

    Blank, they are the same on every item of a layout but for the item's id and the CSRF token, so
    they are rendered once per layout and process with slots for those two: rendering them was two
    thirds of the item page's template time (210 of 310 µs). Bound (the page again after an invalid
    or throttled submit, or an incomplete report) they show what was chosen and what is missing.
    """
    if form.is_bound or problem_form.is_bound:
        return _item_forms_html(form, problem_form, item_id, csrf_token)
    # What goes in is a public id (checked against TOKEN by the view) and a CSRF token: nothing to escape.
    return mark_safe(_blank_item_forms_html(type(form)).replace(ITEM_SLOT, item_id).replace(CSRF_SLOT, csrf_token))


@lru_cache(maxsize=256)
def _blank_item_forms_html(form_class):
    return _item_forms_html(form_class(), ProblemForm(), ITEM_SLOT, CSRF_SLOT)


def _item_forms_html(form, problem_form, item_id, csrf_token):
    return loader.render_to_string("rating/item_forms.html", {
        "form": form, "judgment_rows": form.rows_html(), "problem_form": problem_form,
        "problem_choices": problem_form.choices_html(), "item_id": item_id, "csrf_token": csrf_token})


class InviteForm(forms.ModelForm):
    completion_url = forms.URLField(
        required=False, assume_scheme="https", max_length=500,
        help_text="Optional: where to send a rater who finished; {code} is replaced by the completion code.")
    count = forms.IntegerField(min_value=1, max_value=500, initial=1,
                               help_text="How many links to make (one-rater links only).")

    class Meta:
        model = Invite
        fields = ["kind", "platform", "label", "completion_code", "completion_url"]
        help_texts = {
            "completion_code": "Shown to raters at the end; for Prolific use the study's completion code.",
        }

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == Invite.Kind.STUDY and cleaned.get("count", 1) != 1:
            self.add_error("count", "A study link serves any number of raters; make one.")
        return cleaned
