"""Criteria through the data contract: rows and judgments.csv carry the criterion, effects.json tags
every effect, dpo.jsonl is per criterion, and export → analyze --judgments gives the same effects."""
import json
import random

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse

from evalplat.analysis.data import experiment_data
from evalplat.analysis.management.commands.analyze import Command as Analyze
from evalplat.analysis.management.commands.export import Command as Export
from evalplat.analysis.tables import read_judgments, read_variants
from evalplat.rating.models import Assignment, Rater
from evalplat.rating.scheduling import Session, next_item_id

pytestmark = pytest.mark.django_db
CHOICES = {"honesty": [("left", 2), ("left", 1), ("tie", None), ("right", 1), ("right", 2)],
           "warmth": [("left", None), ("tie", None), ("right", None)],
           "clarity": [("left", None), ("right", None)]}


@pytest.fixture
def judged_criteria(criteria_experiment):
    """Twelve raters who each answer every criterion on their ten items, at random but with a lean:
    on honesty the left answer tends to win, on warmth the right one."""
    rng = random.Random(5)
    for number in range(12):
        rater = Rater.objects.create(experiment=criteria_experiment, external_id=f"p{number}")
        while True:
            with transaction.atomic():
                public_id = next_item_id(Session.load(Rater.objects.select_related("experiment").get(pk=rater.pk)))
                if public_id is None:
                    break
                answers = [(name, *rng.choice(options[:2] if name == "honesty" else options[-2:]
                                              if name == "warmth" and rng.random() < 0.5 else options))
                           for name, options in CHOICES.items()]
                Assignment.objects.get(public_id=public_id).record_judgment(answers=answers, both_bad=False,
                                                                             rationale="")
    return criteria_experiment


def effects_of(folder):
    data = json.loads((folder / "effects.json").read_text())
    return {(e["criterion"], e["factor"], e["level"]): (e["estimate"], e["std_error"]) for e in data["effects"]}, data


def test_rows_carry_the_criterion_in_the_designs_order(judged_criteria):
    data = experiment_data(judged_criteria)
    assert data.judgments.criteria == ("honesty", "warmth", "clarity")
    assert [row["criterion"] for row in data.rows[:3]] == ["honesty", "warmth", "clarity"]
    assert len(data.rows) == 3 * Assignment.objects.filter(status=Assignment.Status.JUDGED).count()


def test_export_then_analyze_judgments_gives_the_same_effects_per_criterion(tmp_path, judged_criteria):
    call_command(Analyze(), judged_criteria.slug, out=str(tmp_path / "db"))
    call_command(Export(), judged_criteria.slug, out=str(tmp_path / "export"))
    exported = tmp_path / "export"
    header = (exported / "judgments.csv").read_text().splitlines()[0].split(",")
    assert header[-1] == "criterion"
    call_command(Analyze(), variants=str(exported / "variants.csv"), judgments=str(exported / "judgments.csv"),
                 out=str(tmp_path / "csv"))
    from_db, db = effects_of(tmp_path / "db")
    from_csv, csv = effects_of(tmp_path / "csv")
    assert {key[0] for key in from_db} == {"honesty", "warmth", "clarity"}
    assert from_db.keys() == from_csv.keys()
    for key in from_db:
        assert np.allclose(from_db[key], from_csv[key], rtol=1e-9, atol=1e-12), key
    # The design's weights reach the database path; a CSV has none, so each counts 1.
    assert [c["criterion"] for c in db["criteria"]] == [c["criterion"] for c in csv["criteria"]]
    assert [c["weight"] for c in db["criteria"]] == [2.0, 1.0, 0.5]
    assert [c["weight"] for c in csv["criteria"]] == [1.0, 1.0, 1.0]
    for name in ("report.html", "report-1-honesty.html", "report-2-warmth.html", "report-3-clarity.html",
                 "effects.csv"):
        assert (tmp_path / "db" / name).exists(), name
    assert (tmp_path / "db" / "effects.csv").read_text().startswith("criterion,factor,level,")
    report = (tmp_path / "db" / "report.html").read_text()
    assert "Where the criteria disagree" in report and "report-2-warmth.html" in report


def test_preference_pairs_are_per_criterion(tmp_path, judged_criteria):
    call_command(Export(), judged_criteria.slug, out=str(tmp_path))
    pairs = [json.loads(line) for line in (tmp_path / "dpo.jsonl").read_text().splitlines()]
    assert {pair["criterion"] for pair in pairs} == {"honesty", "warmth", "clarity"}
    judgments = read_judgments(tmp_path / "judgments.csv", read_variants(tmp_path / "variants.csv"))
    honesty = judgments.for_criterion("honesty")
    decided = int(np.sum((honesty.winner != 0) & (honesty.gold == 0)))
    assert sum(pair["criterion"] == "honesty" for pair in pairs) <= decided
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert "a pair per criterion" in manifest["dpo_rule"]


def test_the_console_shows_the_criteria_page_and_each_criterions_report(judged_criteria, owner):
    client = Client()
    client.force_login(owner)
    url = reverse("console:report", args=[judged_criteria.slug])
    page = client.get(url).content.decode()
    assert "Effects on each criterion, and combined" in page and "?criterion=2" in page
    second = client.get(url, {"criterion": "2"}).content.decode()
    assert "Effects of each factor" in second and "Raters were asked: “Which response is warmer?”" in second


def test_a_judgments_csv_naming_criteria_on_only_some_lines_is_refused(tmp_path, judged_criteria):
    call_command(Export(), judged_criteria.slug, out=str(tmp_path))
    lines = (tmp_path / "judgments.csv").read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0] + ","
    (tmp_path / "judgments.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(CommandError, match=r"judgments.csv:3: criterion: blank, but other lines name a criterion"):
        call_command(Analyze(), variants=str(tmp_path / "variants.csv"), judgments=str(tmp_path / "judgments.csv"),
                     out=str(tmp_path / "out"))
