"""Fixtures for the analysis tests that need an experiment with answers and judgments."""
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone


def add_judgment(experiment, rater, query, left_answer, right_answer, position, winner, strength=None,
                 gold_better=""):
    from evalplat.rating.models import Assignment, Judgment

    item = Assignment.objects.create(
        experiment=experiment, rater=rater, query=query, left_answer=left_answer, right_answer=right_answer,
        position=position, status="judged", expires_at=timezone.now() + timedelta(hours=1),
        is_gold=bool(gold_better), gold_better=gold_better)
    return Judgment.objects.create(assignment=item, winner=winner, strength=strength)


@pytest.fixture
def judged(experiment):
    """Answers for every (variant, query) and 120 judgments in which 'hedged' answers tend to win."""
    from evalplat.generation.models import Answer
    from evalplat.rating.models import Rater

    variants = list(experiment.variants.prefetch_related("levels__factor").order_by("position"))
    queries = list(experiment.queries.order_by("position"))
    answers = {}
    for variant in variants:
        hedged = variant.level_names()["hedge"] == "hedged"
        for query in queries:
            text = f"## Answer\n- point one\n- point two\n{'I am not sure. ' * hedged}{query.key} {variant.code}"
            answers[variant.code, query.key] = Answer.objects.create(
                experiment=experiment, variant=variant, query=query, status="done", text=text, model="tiny-llama",
                messages=[{"role": "system", "content": "secret prompt"}, {"role": "user", "content": query.text}],
                logprobs={"tokens": ["I"], "logprobs": [-0.1], "top_tokens": [["I", "We"]],
                          "top_logprobs": [[-0.1, -2.4]]} if variant.code == "v2" else None)
    rng = np.random.default_rng(0)
    raters = [Rater.objects.create(experiment=experiment) for _ in range(6)]
    for n in range(120):
        rater = raters[n % 6]
        left, right = rng.choice(len(variants), 2, replace=False)
        query = queries[n % len(queries)]
        left_answer, right_answer = answers[variants[left].code, query.key], answers[variants[right].code, query.key]
        margin = ("I am not sure" in left_answer.text) - ("I am not sure" in right_answer.text) + 0.2
        winner = "left" if rng.random() < 1 / (1 + np.exp(-1.5 * margin)) else "right"
        add_judgment(experiment, rater, query, left_answer, right_answer, n // 6, winner, int(rng.integers(1, 3)))
    return experiment


