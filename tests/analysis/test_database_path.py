"""analyze and export for an experiment in the database (data.py is the only ORM reader)."""
import json
from datetime import timedelta

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from evalplat.analysis.management.commands.analyze import Command as Analyze
from evalplat.analysis.management.commands.export import Command as Export

pytestmark = pytest.mark.django_db


@pytest.fixture
def judged(experiment):
    """Answers for every (variant, query) and 120 judgments in which 'hedged' answers tend to win."""
    from evalplat.generation.models import Answer
    from evalplat.rating.models import Assignment, Judgment, Rater

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
        item = Assignment.objects.create(
            experiment=experiment, rater=rater, query=query, left_answer=left_answer, right_answer=right_answer,
            position=n // 6, status="judged", expires_at=timezone.now() + timedelta(hours=1))
        margin = ("I am not sure" in left_answer.text) - ("I am not sure" in right_answer.text) + 0.2
        winner = "left" if rng.random() < 1 / (1 + np.exp(-1.5 * margin)) else "right"
        Judgment.objects.create(assignment=item, winner=winner, strength=int(rng.integers(1, 3)))
    return experiment


def test_analyze_an_experiment_from_the_database(tmp_path, judged):
    call_command(Analyze(), judged.slug, out=str(tmp_path))
    result = json.loads((tmp_path / "effects.json").read_text())
    hedge = next(row for row in result["effects"] if row["factor"] == "hedge" and not row["baseline"])
    assert hedge["level"] == "hedged" and hedge["estimate"] > 0
    assert result["n_judgments"] == 120 and result["design"]["array"] == judged.array_name
    assert result["style"]["covariates"][0]["name"].startswith("log length")
    header = (tmp_path / "judgments.csv").read_text().splitlines()[0]
    assert header.startswith("query,left,right,winner,strength,rater,category")
    assert "secret prompt" not in (tmp_path / "report.html").read_text()


def test_an_unknown_experiment_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no experiment named 'nope'"):
        call_command(Analyze(), "nope", out=str(tmp_path / "out"))


def test_export_writes_distillation_preferences_and_raw_data(tmp_path, judged):
    call_command(Export(), judged.slug, out=str(tmp_path), distill_variant="v2")
    distill = [json.loads(line) for line in (tmp_path / "distill.jsonl").read_text().splitlines()]
    assert len(distill) == judged.queries.count()
    first = distill[0]
    assert [m["role"] for m in first["messages"]] == ["user", "assistant"]
    assert "secret prompt" not in json.dumps(first) and first["logprobs"]["top_tokens"] == [["I", "We"]]
    pairs = [json.loads(line) for line in (tmp_path / "dpo.jsonl").read_text().splitlines()]
    assert len(pairs) == 120 and {"prompt", "chosen", "rejected"} <= set(pairs[0])
    assert sum("I am not sure" in p["chosen"] for p in pairs) > sum("I am not sure" in p["rejected"] for p in pairs)
    answers = (tmp_path / "answers.jsonl").read_text().splitlines()
    assert len(answers) == judged.variants.count() * judged.queries.count()
    assert (tmp_path / "variants.csv").exists() and (tmp_path / "judgments.csv").exists()


def test_export_best_picks_a_hedged_variant(tmp_path, judged):
    call_command(Export(), judged.slug, out=str(tmp_path))
    variant = json.loads((tmp_path / "distill.jsonl").read_text().splitlines()[0])["variant"]
    assert judged.variants.get(code=variant).level_names()["hedge"] == "hedged"
