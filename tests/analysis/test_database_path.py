"""analyze and export for an experiment in the database (data.py is the only ORM reader)."""
import json
import pytest
from django.core.management import CommandError, call_command

from evalplat.analysis.management.commands.analyze import Command as Analyze
from evalplat.analysis.management.commands.export import Command as Export

pytestmark = pytest.mark.django_db


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


def test_the_designs_analysis_table_sets_the_penalty_for_analyze_and_the_console(tmp_path, judged):
    from evalplat.analysis.snapshots import analysis_for

    type(judged).objects.filter(pk=judged.pk).update(
        design_text=judged.design_text + '\n[analysis]\npenalty = "always"\nprior_sd = 0.5\n')
    judged.refresh_from_db()
    assert analysis_for(judged).penalty.reason == "asked" and analysis_for(judged).prior_sd == 0.5
    call_command(Analyze(), judged.slug, out=str(tmp_path))
    assert json.loads((tmp_path / "effects.json").read_text())["penalty"]["sd"] == 0.5
    call_command(Analyze(), judged.slug, "--penalty", "auto", out=str(tmp_path / "auto"))
    assert json.loads((tmp_path / "auto" / "effects.json").read_text())["penalty"]["applied"] is False


def test_a_rater_the_rating_pages_flagged_too_fast_is_excluded_from_the_analysis(judged):
    from evalplat.analysis.data import experiment_data
    from evalplat.analysis.pipeline import run_analysis
    from evalplat.analysis.snapshots import analysis_for
    from evalplat.rating.models import Rater

    flagged = Rater.objects.filter(experiment=judged).order_by("pk").first()
    before = analysis_for(judged)
    assert not [row for row in before.excluded_raters if row.reason == "fast"]
    Rater.objects.filter(pk=flagged.pk).update(too_fast=True)  # as a fast submit would set it
    data = experiment_data(judged)
    assert {row["rater"] for row in data.rows if row["too_fast"]} == {f"r{flagged.pk}"}
    after = run_analysis(data.variants, data.judgments, detail=False)
    assert [(row.rater, row.reason) for row in after.excluded_raters] == [(f"r{flagged.pk}", "fast")]
    assert after.n_judgments < before.n_judgments
