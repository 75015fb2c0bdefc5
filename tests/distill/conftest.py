"""An experiment with held-out queries, answered and judged so that one level clearly wins."""
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone

from tests.generation.conftest import tiny_model  # noqa: F401 - the vLLM test's model, built once a session

SMALL = Path(__file__).resolve().parents[1] / "fixtures" / "small.toml"
HELD_OUT = '''
[[queries]]
id = "later-1"
text = "Is it safe to swim after eating?"
held_out = true

[[queries]]
id = "later-2"
category = "advice"
text = "Should I lend money to my brother?"
held_out = true
'''


@pytest.fixture
def held_out_design(tmp_path):
    path = tmp_path / "small.toml"
    path.write_text(SMALL.read_text().replace('name = "small"', 'name = "heldout"') + HELD_OUT)
    return path


@pytest.fixture
def held_out_experiment(owner, held_out_design):
    from evalplat.experiments.importing import import_design_file

    return import_design_file(held_out_design, owner=owner)


def answer_and_judge(experiment, utility, n_judgments=240, seed=0):
    """A done answer per (variant, query) and judgments drawn from a Bradley-Terry model whose
    utility of a variant is `utility(level names)`."""
    from evalplat.generation.models import Answer
    from evalplat.rating.models import Assignment, Judgment, Rater

    variants = list(experiment.variants.prefetch_related("levels__factor").order_by("position"))
    queries = list(experiment.queries.order_by("position"))
    answers = {}
    for variant in variants:
        for query in queries:
            prompt = experiment.prompt_for(variant, query)
            answers[variant.pk, query.pk] = Answer.objects.create(
                experiment=experiment, variant=variant, query=query, status="done", text=f"{variant.code} {query.key}",
                model=prompt.settings.model, messages=prompt.messages, settings=prompt.settings.as_dict())
    rng = np.random.default_rng(seed)
    raters = [Rater.objects.create(experiment=experiment) for _ in range(8)]
    for n in range(n_judgments):
        left, right = rng.choice(len(variants), 2, replace=False)
        query = queries[n % len(queries)]
        item = Assignment.objects.create(
            experiment=experiment, rater=raters[n % 8], query=query, left_answer=answers[variants[left].pk, query.pk],
            right_answer=answers[variants[right].pk, query.pk], position=n // 8, status="judged",
            expires_at=timezone.now() + timedelta(hours=1))
        margin = utility(variants[left].level_names()) - utility(variants[right].level_names())
        winner = "left" if rng.random() < 1 / (1 + np.exp(-margin)) else "right"
        Judgment.objects.create(assignment=item, winner=winner, strength=1)
    return experiment


@pytest.fixture
def judged_held_out(held_out_experiment):
    """Hedged and lively answers win: the recommended combination is hedge=hedged, voice=lively."""
    return answer_and_judge(held_out_experiment, lambda levels: 1.5 * (levels["hedge"] == "hedged")
                            + 1.0 * (levels["voice"] == "lively"))


@pytest.fixture
def quick_power(monkeypatch):
    """For tests about something else: skip the judgments estimate (8 simulated analyses, the slow
    part of creating a follow-up); the confirmation test runs the real one."""
    from evalplat.distill import followups

    monkeypatch.setattr(followups, "judgments_needed", lambda design, **kwargs: 0)


@pytest.fixture
def peer():
    from tests.generation.openai_peer import Peer

    server = Peer().start()
    yield server
    server.stop()
