"""Follow-up experiments (confirmation run, distillation check), held-out queries, and what the
console's buttons call. None of this needs torch."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse
from django.core.management import CommandError, call_command

from designs.spec import load_design
from evalplat.distill.followups import FollowUpRefused, create_confirmation, create_distillation_check
from evalplat.distill.models import DistillationRun
from evalplat.distill.runner import DistillRefused, queue_distillation, run_queued
from evalplat.experiments.models import Experiment
from evalplat.generation.planning import planned_answers
from tests.distill.conftest import answer_and_judge

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def arm_levels(experiment):
    factor = experiment.factors.get(name="arm")
    return {level.name: level.value for level in factor.levels.all()}


def test_held_out_queries_are_stored_but_never_generated_or_rated(held_out_experiment):
    assert [q["id"] for q in held_out_experiment.held_out_queries] == ["later-1", "later-2"]
    assert set(held_out_experiment.queries.values_list("key", flat=True)) == {"sky", "tides", "apology", "budget"}
    assert {p.query.key for p in planned_answers(held_out_experiment)} == {"sky", "tides", "apology", "budget"}


def test_confirm_creates_the_predicted_best_against_the_baseline_on_held_out_queries(judged_held_out, tmp_path, capsys):
    call_command("confirm", "heldout", out=str(tmp_path / "confirm"))
    printed = capsys.readouterr().out
    created = Experiment.objects.get(slug="heldout-confirm")
    assert created.owner == judged_held_out.owner
    assert list(created.queries.values_list("key", flat=True)) == ["later-1", "later-2"]
    arms = arm_levels(created)
    assert list(arms)[0] == "baseline" and "predicted_best" in arms
    assert arms["baseline"]["text"] == {"hedge": "", "voice": "Quokka-flat: use a neutral voice."}
    best = arms["predicted_best"]
    assert best["text"] == {"hedge": "Zanzibar-hedge: admit any uncertainty.", "voice": "Quokka-lively: use a lively voice."}
    assert set(best["generation"]) == {"temperature"}
    # The arm's prompt is the original's prompt for the recommended combination, word for word.
    original = judged_held_out
    variant = created.variants.get(levels__name="predicted_best")
    query = created.queries.first()
    levels = {"hedge": "hedged", "voice": "lively",
              "temperature": "cold" if best["generation"]["temperature"] == 0.1 else "hot"}
    from designs.prompts import compose

    expected = compose(original.system_template, original.user_template, original.generation_settings,
                       original.design_factors(), levels, query.text)
    assert created.prompt_for(variant, query).messages == expected.messages
    assert created.prompt_for(variant, query).settings == expected.settings
    # The design folder is what is reviewed: it parses by itself and matches what was created.
    design = load_design(tmp_path / "confirm" / "design.toml")
    assert design.sha256 == created.design_sha256
    assert "Judgments needed" in printed and "corrected for having picked the best" in printed


def test_confirm_takes_new_queries_from_a_file(judged_held_out, tmp_path, quick_power):
    queries = tmp_path / "new.jsonl"
    queries.write_text('{"id": "n1", "text": "New one?"}\n{"id": "n2", "text": "Another?", "category": "x"}\n')
    follow_up = create_confirmation(judged_held_out, queries_file=queries, out=tmp_path / "c", name="new-confirm")
    assert list(follow_up.experiment.queries.values_list("key", "category")) == [("n1", ""), ("n2", "x")]


def test_confirm_names_the_bad_line_of_a_queries_file_and_creates_nothing(judged_held_out, tmp_path):
    queries = tmp_path / "bad.jsonl"
    queries.write_text('{"id": "n1", "text": "ok"}\n{"id": "n2"}\n')
    with pytest.raises(CommandError, match=r"bad.jsonl:2: text: missing"):
        call_command("confirm", "heldout", queries=str(queries), out=str(tmp_path / "c"))
    assert not Experiment.objects.filter(slug="heldout-confirm").exists()


def test_confirm_needs_queries_the_experiment_never_rated(experiment, tmp_path):
    answer_and_judge(experiment, lambda levels: 1.0 * (levels["hedge"] == "hedged"))
    with pytest.raises(CommandError, match="has no held-out queries"):
        call_command("confirm", "small", out=str(tmp_path / "c"))


def test_confirm_without_judgments_says_so(held_out_experiment, tmp_path):
    with pytest.raises(FollowUpRefused, match="has no judgments"):
        create_confirmation(held_out_experiment, out=tmp_path / "c")


def fake_student(tmp_path, held_out=("tides",)):
    student = tmp_path / "run" / "adapter"
    student.mkdir(parents=True)
    (student / "adapter_config.json").write_text('{"r": 8}')
    (student / "distillation.json").write_text(json.dumps({"held_out_queries": list(held_out)}))
    return student


def test_distill_check_pits_the_student_without_the_prompt_against_the_teacher(judged_held_out, tmp_path, capsys):
    student = fake_student(tmp_path)
    call_command("distill_check", "heldout", student=str(student), variant="v2", out=str(tmp_path / "check"))
    created = Experiment.objects.get(slug="heldout-distill-check")
    arms = arm_levels(created)
    assert list(arms) == ["teacher", "student", "base"]  # the teacher is the baseline: effects are against it
    original_v2 = judged_held_out.variants.get(code="v2")
    query = created.queries.first()
    teacher_prompt = judged_held_out.prompt_for(original_v2, query)  # the original's prompt, for this query
    by_arm = {v.level_names()["arm"]: created.prompt_for(v, query) for v in created.variants.all()}
    assert by_arm["teacher"].messages == teacher_prompt.messages
    assert by_arm["student"].messages == by_arm["base"].messages == [{"role": "user", "content": query.text}]
    assert by_arm["student"].settings.adapter == str(student) and by_arm["base"].settings.adapter == ""
    # Every arm samples as the teacher did (the winning variant's temperature), on one base model.
    assert {p.settings.temperature for p in by_arm.values()} == {teacher_prompt.settings.temperature}
    assert {p.settings.model for p in by_arm.values()} == {"tiny-llama"}
    assert list(created.queries.values_list("key", flat=True)) == ["later-1", "later-2"]
    assert "distillation check" in capsys.readouterr().out


def test_distill_check_uses_the_queries_held_out_of_training_when_the_design_has_none(experiment, tmp_path, quick_power):
    answer_and_judge(experiment, lambda levels: 1.0 * (levels["hedge"] == "hedged"))
    merged = tmp_path / "merged"
    merged.mkdir()
    (merged / "config.json").write_text("{}")
    (merged / "distillation.json").write_text(json.dumps({"held_out_queries": ["tides", "budget"]}))
    follow_up = create_distillation_check(experiment, merged, variant="v2", out=tmp_path / "c")
    created = follow_up.experiment
    assert sorted(created.queries.values_list("key", flat=True)) == ["budget", "tides"]
    student = created.variants.get(levels__name="student")
    assert created.prompt_for(student, created.queries.first()).settings.model == str(merged)


def test_distill_check_refuses_a_student_that_is_no_model(judged_held_out, tmp_path):
    with pytest.raises(FollowUpRefused, match="neither a LoRA adapter directory"):
        create_distillation_check(judged_held_out, tmp_path, out=tmp_path / "c")


def test_noninferiority_states_the_margin_from_the_checks_judgments(judged_held_out, tmp_path, capsys, quick_power,
                                                                    client, owner):
    follow_up = create_distillation_check(judged_held_out, fake_student(tmp_path), variant="v2", out=tmp_path / "c",
                                          owner=owner)
    answer_and_judge(follow_up.experiment, lambda levels: {"teacher": 0.0, "student": 0.0, "base": -1.0}[levels["arm"]],
                     n_judgments=400)
    call_command("noninferiority", follow_up.experiment.slug, margin=0.5)
    printed = capsys.readouterr().out
    assert "margin 0.5" in printed
    # The figures are the report's: the arm=student effect of the stored analysis, teacher as baseline.
    from evalplat.analysis.snapshots import analysis_for
    from evalplat.distill.checks import is_distillation_check

    effect = next(e for e in analysis_for(follow_up.experiment).effects if (e.factor, e.level) == ("arm", "student"))
    assert f"estimate {effect.estimate:+.2f}" in printed
    assert is_distillation_check(follow_up.experiment) and not is_distillation_check(judged_held_out)
    # The console's Results page of the check states it (at the default margin) above the report.
    client.force_login(owner)
    page = client.get(reverse("console:report", args=[follow_up.experiment.slug])).content.decode()
    assert "The distilled student against its teacher" in page and f"estimate {effect.estimate:+.2f}" in page
    original = client.get(reverse("console:report", args=[judged_held_out.slug])).content.decode()
    assert "against its teacher" not in original


def test_the_console_queues_a_distillation_for_a_gpu_worker(client, judged_held_out, owner,
                                                             django_capture_on_commit_callbacks, monkeypatch):
    from evalplat.distill import tasks

    queued = []
    monkeypatch.setattr(tasks.run_distillation, "delay", lambda run_id: queued.append(run_id))
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/console/heldout/distill/", {"base": "tiny-llama", "out": "var/x"})
    assert response.status_code == 302
    run = DistillationRun.objects.get()
    assert (run.variant, run.base, run.state, queued) == (run.variant, "tiny-llama", "queued", [run.pk])
    assert run.variant_note.startswith(f"{run.variant}, the recommended combination")  # the export's wording


def test_an_outsider_cannot_distil_or_follow_up_someone_elses_experiment(client, judged_held_out, outsider):
    client.force_login(outsider)
    for url in ("/console/heldout/distill/", "/console/heldout/confirm/", "/console/heldout/distill/check/"):
        assert client.post(url, {"base": "m"}).status_code == 404
    assert not DistillationRun.objects.exists() and Experiment.objects.count() == 1


def test_the_console_creates_a_confirmation_run(client, judged_held_out, owner, settings, tmp_path, quick_power):
    settings.BASE_DIR = tmp_path  # the design folder goes to var/followups/ under it
    client.force_login(owner)
    response = client.post("/console/heldout/confirm/")
    assert response.status_code == 302 and response.url == "/console/heldout-confirm/"
    assert (tmp_path / "var" / "followups" / "heldout-confirm" / "design.toml").is_file()


def test_a_queued_run_is_claimed_once_and_records_why_it_failed(judged_held_out, monkeypatch):
    run = DistillationRun.objects.create(experiment=judged_held_out, variant="v9", base="m", out="var/x")
    assert run_queued(run.pk).state == "failed" and "'v9' is not a variant" in run.__class__.objects.get().error
    assert run_queued(run.pk) is None  # a second delivery finds it taken


def test_queueing_refuses_a_variant_without_answers(held_out_experiment):
    with pytest.raises(DistillRefused, match="has no judgments"):
        queue_distillation(held_out_experiment, "best", "m", "out")
    with pytest.raises(DistillRefused, match="no generated answers"):
        queue_distillation(held_out_experiment, "v1", "m", "out")


def test_the_web_app_never_imports_torch():
    code = ("import sys, django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'evalplat.settings'; django.setup(); "
            "import evalplat.urls, evalplat.distill.tasks, evalplat.distill.management.commands.distill; "
            "from django.core.management import get_commands; get_commands(); "
            "print(sorted(m for m in ('torch', 'transformers', 'peft', 'vllm') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_distill_says_which_environment_it_needs(judged_held_out, tmp_path):
    import importlib.util

    if importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is installed here; the vLLM suite trains for real (tests/distill/test_distill_vllm.py)")
    with pytest.raises(CommandError, match=r"needs torch, transformers and peft .*\.venv-vllm"):
        call_command("distill", "heldout", variant="v2", base="tiny-llama", out=str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
