"""Rating fixtures: an experiment open for rating with an answer for every (variant, query).

The lead's conftest gives the users and the small experiment; the blinding
audit uses its own design (fixtures/blinding.toml) whose names occur nowhere
else, so that searching pages for them means something.
"""
import random
from pathlib import Path

import pytest
from django.urls import reverse

from evalplat.experiments.importing import import_design_file
from evalplat.generation.models import Answer, sync_experiment_status
from evalplat.rating.models import Invite

HERE = Path(__file__).parent
FILLER = ["crust", "linen", "steady", "morning", "brush", "oil", "budget", "simple", "gentle", "pattern"]


def answer_text(rng, query_text):
    words = " ".join(rng.choice(FILLER) for _ in range(6))
    return (f"Good question — *{query_text.lower().rstrip('?')}* comes up a lot.\n\n"
            f"1. Start with the basics: {words}.\n2. Check again after a week.\n\n"
            f"| step | time |\n|---|---|\n| first | 5 min |\n\n```\nkeep it {rng.choice(FILLER)}\n```\n")


def add_answers(experiment, seed=0, text=answer_text):
    rng = random.Random(seed)
    answers = []
    for variant in experiment.variants.all():
        for query in experiment.queries.all():
            answers.append(Answer(
                experiment=experiment, variant=variant, query=query, sample=0, status=Answer.Status.DONE,
                text=text(rng, query.text), model=experiment.generation_settings.model,
                messages=experiment.prompt_for(variant, query).messages,
            ))
    return Answer.objects.bulk_create(answers)


def open_for_rating(experiment):
    """Every answer is in (added directly): the experiment becomes ready, then rating opens."""
    sync_experiment_status(experiment)
    assert experiment.open_rating()
    return experiment


@pytest.fixture
def rating_experiment(experiment):
    """The lead's small experiment (8 variants × 4 queries), answered and open for rating."""
    add_answers(experiment)
    return open_for_rating(experiment)


@pytest.fixture
def blinding_experiment(owner):
    experiment = import_design_file(HERE / "fixtures" / "blinding.toml", owner=owner)
    add_answers(experiment, seed=1)
    return open_for_rating(experiment)


@pytest.fixture
def study_invite(rating_experiment, owner):
    return Invite.objects.create(experiment=rating_experiment, kind=Invite.Kind.STUDY,
                                 platform=Invite.Platform.PROLIFIC, created_by=owner,
                                 completion_url="https://app.prolific.com/submissions/complete?cc={code}")


@pytest.fixture
def start_session():
    """Open a study link and consent, as a rater's browser would; returns the first item's URL."""
    def start(client, invite, **params):
        response = client.get(reverse("rating:start", args=[invite.token]), params)
        assert response.status_code == 302, response.content[:500]
        client.post(reverse("rating:welcome"), {"consent": "yes"})
        response = client.get(reverse("rating:next"))
        assert response.status_code == 302
        return response["Location"]
    return start
