"""The console's analysis: fitted once per new judgment, and exports that round-trip and apply
the report's exclusions (issues 11.8, 12, 9.9)."""
import io
import json
import zipfile
from unittest import mock

import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from evalplat.analysis import model
from evalplat.analysis.management.commands.analyze import Command as Analyze
from evalplat.analysis.management.commands.export import Command as Export

from .conftest import add_judgment

pytestmark = pytest.mark.django_db


@pytest.fixture
def attentive(judged):
    """`judged` plus attention items: one passed by each of five raters, and four failed by the
    sixth (who is then excluded by the gold rule).  Each shows the same variant on both sides:
    a real answer against that variant's answer to another query, as the scheduler makes them."""
    from evalplat.rating.models import Rater

    raters = list(Rater.objects.filter(experiment=judged).order_by("pk"))
    v1 = judged.variants.get(code="v1")
    queries = list(judged.queries.order_by("position"))
    answers = {a.query.key: a for a in v1.answers.select_related("query")}
    for r, rater in enumerate(raters):
        for k in range(4 if r == 5 else 1):
            real, other = queries[k % len(queries)], queries[(k + 1) % len(queries)]
            add_judgment(judged, rater, real, answers[real.key], answers[other.key], 100 + k,
                         winner="right" if r == 5 else "left", strength=1, gold_better="left")
    return judged


def effects_of(folder):
    result = json.loads((folder / "effects.json").read_text())
    return {(row["factor"], row["level"]): (row["estimate"], row["std_error"], row["robust_std_error"])
            for row in result["effects"]}, result


def test_exported_judgments_feed_back_into_analyze_with_the_same_effects(tmp_path, attentive):
    call_command(Analyze(), attentive.slug, out=str(tmp_path / "db"))
    call_command(Export(), attentive.slug, out=str(tmp_path / "export"))
    exported = tmp_path / "export"
    call_command(Analyze(), variants=str(exported / "variants.csv"), judgments=str(exported / "judgments.csv"),
                 out=str(tmp_path / "csv"))
    from_db, db_result = effects_of(tmp_path / "db")
    from_csv, csv_result = effects_of(tmp_path / "csv")
    assert from_db.keys() == from_csv.keys()
    for key in from_db:
        assert np.allclose(from_db[key], from_csv[key], rtol=1e-9, atol=1e-12), key
    assert db_result["gold"] == csv_result["gold"] == {"items": 9, "accuracy": 5 / 9}
    assert db_result["excluded_raters"] == csv_result["excluded_raters"] and len(db_result["excluded_raters"]) == 1


def test_preference_pairs_leave_out_excluded_raters_and_attention_items(tmp_path, attentive):
    call_command(Export(), attentive.slug, out=str(tmp_path))
    call_command(Analyze(), attentive.slug, out=str(tmp_path / "analysis"))
    excluded = json.loads((tmp_path / "analysis" / "effects.json").read_text())["excluded_raters"][0]["rater"]
    pairs = [json.loads(line) for line in (tmp_path / "dpo.jsonl").read_text().splitlines()]
    assert pairs and excluded not in {pair["rater"] for pair in pairs}
    assert all(pair["chosen_variant"] != pair["rejected_variant"] for pair in pairs)   # no attention item
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["dpo_left_out"]["attention items"] == 9
    assert manifest["dpo_left_out"]["excluded or flagged raters"] == 20        # the excluded rater's judgments
    assert manifest["dpo_pairs"] == len(pairs) == 100


def test_the_distillation_set_uses_the_recommended_combination(tmp_path, attentive):
    from evalplat.analysis.snapshots import analysis_for

    result = analysis_for(attentive)
    call_command(Export(), attentive.slug, out=str(tmp_path))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert result.best_combination.variant is not None          # 2^3 folded: every combination was run
    assert manifest["distill_variant"] == result.best_combination.variant
    assert "the recommended combination" in manifest["distill_reason"]
    variants = {json.loads(line)["variant"] for line in (tmp_path / "distill.jsonl").read_text().splitlines()}
    assert variants == {result.best_combination.variant}


def test_an_untested_recommendation_falls_back_to_the_best_tested_variant_and_says_so(attentive):
    from dataclasses import replace

    from evalplat.analysis.bundle import distill_choice
    from evalplat.analysis.data import experiment_data
    from evalplat.analysis.snapshots import analysis_for

    result = analysis_for(attentive)
    untested = replace(result, best_combination=replace(result.best_combination, variant=None))
    choice = distill_choice(experiment_data(attentive).variants, untested, "best", attentive.slug)
    assert choice.variant == result.best_tested_variant
    assert "best tested variant" in choice.reason and "was not run" in choice.reason


def count_fits():
    """Counts every Newton fit anywhere in the analysis (each evaluates model.loglik_grad_hess)."""
    return mock.patch.object(model, "loglik_grad_hess", side_effect=model.loglik_grad_hess)


def test_report_views_and_downloads_fit_at_most_once_per_new_judgment(client, owner, attentive):
    from evalplat.rating.models import Assignment

    client.force_login(owner)
    report = reverse("console:report", args=[attentive.slug])
    download = reverse("console:export", args=[attentive.slug])
    with count_fits() as fits:
        assert client.get(report).status_code == 200
        first = fits.call_count
        assert first > 0
        assert client.get(report).status_code == 200
        response = client.get(download)
        assert response.status_code == 200 and response["Content-Type"] == "application/zip"
        assert fits.call_count == first                       # the second view and the zip reused it
        item = Assignment.objects.filter(experiment=attentive, is_gold=False).first()
        add_judgment(attentive, item.rater, item.query, item.left_answer, item.right_answer, 500, "left", 2)
        assert client.get(report).status_code == 200
        second = fits.call_count
        assert second > first                                  # a new judgment: one new analysis
        client.get(report)
        client.get(download)
        assert fits.call_count == second


def test_a_stored_analysis_comes_back_as_the_same_result(attentive):
    from evalplat.analysis.models import AnalysisSnapshot
    from evalplat.analysis.result import AnalysisResult
    from evalplat.analysis.snapshots import analysis_for

    fresh = analysis_for(attentive)
    stored = AnalysisSnapshot.objects.get(experiment=attentive)
    assert stored.judgment_count == 129
    assert AnalysisResult.from_json(stored.result) == fresh
    with count_fits() as fits:
        again = analysis_for(attentive)
    assert fits.call_count == 0 and again == fresh


def test_the_zip_refuses_an_unknown_distillation_variant_by_name(client, owner, attentive):
    client.force_login(owner)
    response = client.get(reverse("console:export", args=[attentive.slug]), {"distill": "v99"})
    assert response.status_code == 400
    assert "distill: 'v99' is not a variant of 'small'" in response.content.decode()
    good = client.get(reverse("console:export", args=[attentive.slug]), {"distill": "v2"})
    names = zipfile.ZipFile(io.BytesIO(good.content)).namelist()
    assert "small/distill.jsonl" in names and "small/effects.json" in names and "small/manifest.json" in names


@pytest.mark.skipif("sqlite" in settings.DATABASES["default"]["ENGINE"],
                    reason="SQLite's in-memory test database refuses a second writer at once instead of waiting "
                           "(a file database waits up to its lock timeout); CI runs the analysis on PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_workers_asking_at_once_share_one_fit(judged):
    """Two threads with their own database connections stand in for two web worker processes:
    nothing is cached in memory, so only the stored snapshot and its row lock can make them share."""
    import threading

    from django.db import connection

    from evalplat.analysis import snapshots

    started = threading.Barrier(2)
    outcomes = []

    def slow_fit(*args, **kwargs):
        result = run(*args, **kwargs)
        threading.Event().wait(0.5)          # hold the lock long enough for the other to arrive
        return result

    def worker():
        started.wait()
        try:
            outcomes.append(snapshots.analysis_for(judged))
        finally:
            connection.close()

    run = snapshots.analyse
    with mock.patch.object(snapshots, "analyse", side_effect=slow_fit) as fits:
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert fits.call_count == 1
    assert len(outcomes) == 2 and outcomes[0] == outcomes[1]
