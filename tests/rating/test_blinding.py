"""Blinding audit: nothing a rater's browser receives names a variant, factor, level or model.

Raters walk through whole sessions of the blinding experiment (names chosen to
occur nowhere else) and every response — HTML, redirects, headers, error pages
— is searched for every secret the experiment holds.
"""
import re

import pytest
from django.test import Client
from django.urls import reverse

from evalplat.rating.models import Assignment, Invite

pytestmark = pytest.mark.django_db
INPUT = re.compile(r"<(?:input|textarea|button)\b[^>]*>", re.I)
ATTRIBUTE = re.compile(r'(name|value)="([^"]*)"')
# A response's CSP nonce is 16 random bytes in standard base64, so "+v6/" turns up in about one
# run in a few hundred; it says nothing about a variant, and is blanked before the search.
NONCE = re.compile(r'nonce-[A-Za-z0-9+/=]+|nonce="[^"]*"')
ALLOWED_INPUTS = {"csrfmiddlewaretoken", "choice", "both_bad", "rationale", "problem", "note", "consent", "action"}


def secrets_of(experiment):
    """Every string that would tell a rater something about a variant."""
    words = {experiment.slug, experiment.title, experiment.generation_settings.model, "marmoset"}
    for factor in experiment.factors.prefetch_related("levels"):
        words.add(factor.name)
        for level in factor.levels.all():
            words.add(level.name)
            if isinstance(level.value, str) and level.value:
                words.add(level.value)
                words.update(w for w in re.findall(r"[A-Za-z]+", level.value) if len(w) > 7)
    return {w for w in words if w}


class Recorder:
    """A test client that keeps every response it gets."""

    def __init__(self):
        self.client = Client()
        self.responses = []

    def __getattr__(self, method):
        def call(*args, **kwargs):
            response = getattr(self.client, method)(*args, **kwargs)
            self.responses.append(response)
            return response
        return call


def choose(n):
    return {"choice": ["a2", "b1", "same"][n % 3], "rationale": "ok"}


def walk_session(recorder, invite, pid, answer=choose, invalid=None):
    """A whole session: `answer(n)` is what item n's submit posts; the first item is posted
    `invalid` first (nothing chosen by default), and the fourth is reported as a problem."""
    recorder.get(reverse("rating:start", args=[invite.token]), {"PROLIFIC_PID": pid, "STUDY_ID": "s", "SESSION_ID": "x"})
    recorder.get(reverse("rating:welcome"))
    recorder.post(reverse("rating:welcome"), {"consent": "yes"})
    url = recorder.get(reverse("rating:next"))["Location"]
    n = 0
    while "/r/a/" in url:
        recorder.get(url)
        if n == 0:
            recorder.post(url, invalid or {})  # an invalid submit renders the page with errors
        if n == 3:
            recorder.post(url + "problem/", {"problem": "unreadable"})
        else:
            recorder.post(url, answer(n))
        n += 1
        url = recorder.get(reverse("rating:next"))["Location"]
    recorder.get(url)


def test_no_rater_response_reveals_a_variant_or_level(blinding_experiment, settings):
    settings.RATING_QUEUE_SIZE = 6  # refills often, so replicas of judged items reach these few sessions
    invite = Invite.objects.create(experiment=blinding_experiment, platform=Invite.Platform.PROLIFIC,
                                   completion_url="https://app.prolific.com/submissions/complete?cc={code}")
    recorder = Recorder()
    for n in range(4):
        recorder.client = Client()
        walk_session(recorder, invite, f"participant-{n}")
    preview = Invite.objects.create(experiment=blinding_experiment, platform=Invite.Platform.MTURK)
    recorder.get(reverse("rating:start", args=[preview.token]), {"assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE"})

    handed_out = Assignment.objects.handed_out()
    assert handed_out.filter(is_gold=True).exists() and handed_out.filter(kind="replica").exists()
    secrets = secrets_of(blinding_experiment)
    codes = set(blinding_experiment.variants.values_list("code", flat=True))
    variant_code = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, codes)) + r")(?![\w-])")
    assert len(recorder.responses) > 100
    for response in recorder.responses:
        text = response.content.decode()
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        for where in (NONCE.sub("nonce", text), NONCE.sub("nonce", headers)):
            lowered = where.lower()
            leaked = [s for s in secrets if s.lower() in lowered]
            assert not leaked, f"{response.status_code} {response.get('Location', '')}: {leaked}"
            assert not variant_code.search(where), variant_code.search(where).group(0)
        for tag in INPUT.findall(text):
            attributes = dict(ATTRIBUTE.findall(tag))
            if "name" in attributes:
                assert attributes["name"] in ALLOWED_INPUTS, tag
            if attributes.get("name") == "choice":
                assert attributes["value"] in {"a2", "a1", "same", "b1", "b2"}, tag
        assert response["Cache-Control"] == "no-store"
        assert "script-src 'nonce-" in response["Content-Security-Policy"]


def test_left_and_right_do_not_follow_variant_order(blinding_experiment):
    invite = Invite.objects.create(experiment=blinding_experiment)
    for n in range(6):
        recorder = Recorder()
        walk_session(recorder, invite, f"p{n}")
    items = Assignment.objects.handed_out().filter(is_gold=False).select_related("left_answer__variant", "right_answer__variant")
    lower_on_left = [a.left_answer.variant.position < a.right_answer.variant.position for a in items]
    assert len(lower_on_left) > 40
    assert 0.3 < sum(lower_on_left) / len(lower_on_left) < 0.7


def test_urls_and_ids_are_random_tokens(blinding_experiment):
    invite = Invite.objects.create(experiment=blinding_experiment)
    recorder = Recorder()
    walk_session(recorder, invite, "p")
    for assignment in Assignment.objects.all():
        assert len(assignment.public_id) >= 24 and not assignment.public_id.isdigit()
    # Element ids on the judging page are fixed words, the same for every item.
    item_pages = [r.content.decode() for r in recorder.responses if b'id="judge"' in r.content]
    ids = {frozenset(re.findall(r'\bid="([^"]+)"', page)) for page in item_pages}
    assert len(ids) == 1
