"""The judging form, shaped by the design's [rating] settings."""
from dataclasses import dataclass

from django import forms

from evalplat.rating.models import Invite


@dataclass(frozen=True)
class Choice:
    value: str  # what the browser posts: says nothing beyond the rater's own choice
    label: str
    key: str  # keyboard shortcut
    winner: str
    strength: int | None


A_MUCH = Choice("a2", "A is much better", "1", "left", 2)
A_BETTER = Choice("a1", "A is better", "2", "left", 1)
SAME = Choice("same", "About the same", "3", "tie", None)
B_BETTER = Choice("b1", "B is better", "4", "right", 1)
B_MUCH = Choice("b2", "B is much better", "5", "right", 2)

SCALES = {
    "2-way": [Choice("a", "A is better", "1", "left", None), Choice("b", "B is better", "2", "right", None)],
    "3-way": [Choice("a", "A is better", "1", "left", None), Choice("same", "About the same", "2", "tie", None),
              Choice("b", "B is better", "3", "right", None)],
    "5-point": [A_MUCH, A_BETTER, SAME, B_BETTER, B_MUCH],
}

PROBLEMS = [
    ("broken", "A response is broken or cut off"),
    ("offensive", "A response is offensive or unsafe"),
    ("unreadable", "I can't read or understand it"),
    ("other", "Something else"),
]


def scale_choices(rating):
    scale = rating.get("scale", "5-point")
    if scale not in SCALES:
        raise ValueError(f"rating.scale {scale!r}: expected one of {', '.join(SCALES)}")
    return SCALES[scale]


class JudgmentForm(forms.Form):
    choice = forms.ChoiceField(widget=forms.RadioSelect, error_messages={"required": "Please choose an answer."})
    both_bad = forms.BooleanField(required=False, label="Both responses are bad")
    rationale = forms.CharField(required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3}),
                                label="Why? (optional)")

    def __init__(self, *args, rating, **kwargs):
        super().__init__(*args, **kwargs)
        self.scale = scale_choices(rating)
        self.fields["choice"].choices = [(c.value, c.label) for c in self.scale]
        if not rating.get("both_bad", False):
            del self.fields["both_bad"]
        mode = rating.get("rationale", "optional")
        if mode == "off":
            del self.fields["rationale"]
        elif mode == "required":
            self.fields["rationale"].required = True
            self.fields["rationale"].label = "Why?"
            self.fields["rationale"].error_messages["required"] = "Please say briefly why."

    def judgment_fields(self):
        chosen = next(c for c in self.scale if c.value == self.cleaned_data["choice"])
        return {
            "winner": chosen.winner,
            "strength": chosen.strength,
            "both_bad": self.cleaned_data.get("both_bad", False),
            "rationale": self.cleaned_data.get("rationale", "").strip(),
        }


class ProblemForm(forms.Form):
    problem = forms.ChoiceField(choices=PROBLEMS, widget=forms.RadioSelect, label="What's wrong?")
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
                           label="Anything to add? (optional)")


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
