"""manage.py generate in demo mode (tasks run in-process) and its refusals."""
import io

import pytest
from django.core.management import CommandError, call_command

from evalplat.celery import app
from evalplat.generation import planning
from evalplat.generation.models import Answer, GenerationJob
from tests.generation.conftest import plan_here, write_replay

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager():
    """CELERY_TASK_ALWAYS_EAGER=1, as in the embedded demo."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def generate(*args, capture=None):
    """Run the command; `capture` (django_capture_on_commit_callbacks) runs queued tasks at the end, for
    tests inside a transaction. Tests that --wait need real commits: django_db(transaction=True)."""
    out = io.StringIO()
    if capture is None:
        call_command("generate", *args, stdout=out)
    else:
        with capture(execute=True):
            call_command("generate", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_generate_with_replay_and_wait_fills_every_answer(experiment, tmp_path, eager):
    path = write_replay(tmp_path / "r.jsonl", experiment)
    out = generate("small", "--backend", "replay", "--replay", str(path), "--wait")
    assert "32 answers for small via replay" in out
    assert "[##############################] 32/32 answers" in out and "answers/s" in out and "tokens/s" in out
    assert Answer.objects.filter(status="done").count() == 32
    assert GenerationJob.objects.get().state == "done"
    experiment.refresh_from_db()
    assert experiment.status == "ready"


def test_failures_end_wait_with_an_error_listing_them(settings, experiment, tmp_path, eager, monkeypatch,
                                                      django_capture_on_commit_callbacks):
    settings.GENERATION_MAX_ATTEMPTS = 1
    path = write_replay(tmp_path / "r.jsonl", experiment)
    call_command("import_answers", "small", str(path), "--partial")  # all done...
    Answer.objects.filter(variant__code="v1").update(status="failed")  # ...but v1's, which failed earlier
    path.write_text("\n".join(line for line in path.read_text().splitlines() if '"v1"' not in line) + "\n")
    with pytest.raises(CommandError, match="no line for variant v1, query sky, sample 0"):
        generate("small", "--backend", "replay", "--replay", str(path), capture=django_capture_on_commit_callbacks)
    assert not GenerationJob.objects.exists()


def test_a_bad_replay_file_is_refused_before_anything_is_written(experiment, tmp_path, eager,
                                                                 django_capture_on_commit_callbacks):
    path = write_replay(tmp_path / "r.jsonl", experiment, extra_lines=["{oops"])
    with pytest.raises(CommandError, match=r"r.jsonl:33: not valid JSON"):
        generate("small", "--backend", "replay", "--replay", str(path), capture=django_capture_on_commit_callbacks)
    assert not Answer.objects.exists() and not GenerationJob.objects.exists()


@pytest.mark.parametrize("args, message", [
    (["--backend", "replay"], "--backend replay needs --replay FILE"),
    (["--replay", "x.jsonl"], "--replay goes with --backend replay"),
    (["--cancel"], "small has no job running"),
    (["--resume"], "small has no job running"),
])
def test_generate_refuses_inconsistent_options(experiment, args, message, django_capture_on_commit_callbacks):
    with pytest.raises(CommandError, match=message):
        generate("small", *args, capture=django_capture_on_commit_callbacks)


def test_generate_an_unknown_experiment(django_capture_on_commit_callbacks):
    with pytest.raises(CommandError, match="no experiment named 'nope'"):
        generate("nope", capture=django_capture_on_commit_callbacks)


def test_cancel_then_start_again(experiment, tmp_path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        call_command("generate", "small", "--backend", "openai", stdout=io.StringIO())
    with pytest.raises(CommandError, match="is still planning"):
        generate("small", capture=django_capture_on_commit_callbacks)
    out = io.StringIO()
    call_command("generate", "small", "--cancel", stdout=out)
    assert "Cancelled job" in out.getvalue()
    assert GenerationJob.objects.get().state == "cancelled"


@pytest.mark.django_db(transaction=True)
def test_resume_requeues_the_remaining_answers(experiment, tmp_path, eager):
    plan_here(experiment, "replay", {"replay": str(write_replay(tmp_path / "r.jsonl", experiment))})
    assert Answer.objects.filter(status="pending").count() == 32  # planned; its chunks never reached a worker
    out = generate("small", "--resume", "--wait")
    assert "Resumed job" in out and "1 chunks queued again" in out and "done: 32 answers" in out


@pytest.mark.django_db(transaction=True)
def test_resume_queues_the_planning_of_a_job_no_worker_planned(experiment, tmp_path, eager, monkeypatch):
    with monkeypatch.context() as lost:  # the planning task never reaches a worker, as when a broker loses its queue
        lost.setattr(planning, "queue_planning", lambda job: None)
        generate("small", "--backend", "replay", "--replay", str(write_replay(tmp_path / "r.jsonl", experiment)))
    assert GenerationJob.objects.get().state == "planning" and not Answer.objects.exists()
    out = generate("small", "--resume", "--wait")
    assert "its planning queued again" in out and "done: 32 answers" in out
