"""The console's Generation page: the backends this deployment can run, failures grouped with
their reasons, "Retry failed", and the status endpoint the page polls.

Jobs here run for real: tasks run eagerly (as in the demo) against the test OpenAI-compatible
peer, which is scripted to fail some requests."""
import json

import pytest
from django.urls import reverse

from evalplat.celery import app
from evalplat.generation.models import Answer, GenerationJob
from evalplat.generation.planning import available_backends
from evalplat.generation.progress import FailureGroup, failure_summary

pytestmark = pytest.mark.django_db

TOO_LONG = {"status": 400, "body": {"error": "prompt too long"}}
BAD_MODEL = {"status": 404, "body": {"error": "no such model"}}


@pytest.fixture
def eager():
    """CELERY_TASK_ALWAYS_EAGER=1, as in the embedded demo: chunks run in the web process."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def served(settings, peer, eager):
    """One try per answer, straight to the peer."""
    settings.GENERATION_OPENAI_BASE_URL = peer.base_url
    settings.GENERATION_OPENAI_RETRIES = 0
    settings.GENERATION_OPENAI_CONCURRENCY = 2  # the peer's listen queue is short
    settings.GENERATION_MAX_ATTEMPTS = 1
    settings.GENERATION_RETRY_DELAY = 0
    return peer


def generate(client, experiment, capture, backend="openai"):
    with capture(execute=True):  # the chunks run when the planning transaction commits
        return client.post(reverse("generation:start", args=[experiment.slug]), {"backend": backend})


def test_a_worker_deployment_offers_vllm_and_openai(client, owner, experiment):
    client.force_login(owner)
    page = client.get(reverse("generation:page", args=[experiment.slug])).content.decode()
    assert available_backends() == ("vllm", "openai")
    assert '<option value="vllm">' in page and '<option value="openai">' in page
    assert "manage.py worker" in page


def test_eager_mode_offers_no_vllm_and_refuses_it_up_front(client, owner, experiment, eager):
    client.force_login(owner)
    page = client.get(reverse("generation:page", args=[experiment.slug])).content.decode()
    assert available_backends() == ("openai",)
    assert '<option value="vllm">' not in page and '<option value="openai">' in page
    assert "vLLM is not offered here" in page
    answer = client.post(reverse("generation:start", args=[experiment.slug]), {"backend": "vllm"}, follow=True)
    text = answer.content.decode()
    assert "backend vllm: this deployment runs tasks inside the web process (CELERY_TASK_ALWAYS_EAGER=1" in text
    assert "python manage.py worker" in text
    assert not GenerationJob.objects.exists() and not Answer.objects.exists()
    experiment.refresh_from_db()
    assert experiment.status == "draft"


def test_a_job_with_failures_leaves_generating_and_the_page_groups_the_reasons(
        client, owner, experiment, served, django_capture_on_commit_callbacks):
    served.script = [TOO_LONG] * 3 + [BAD_MODEL] * 2  # the first five requests fail, the rest answer
    client.force_login(owner)
    generate(client, experiment, django_capture_on_commit_callbacks)
    job = GenerationJob.objects.get()
    experiment.refresh_from_db()
    assert (job.state, job.done, job.failed) == ("failed", 27, 5)
    assert experiment.status == "draft"  # left "generating": nothing is running any more
    groups = failure_summary(experiment)
    assert [g.count for g in groups] == [3, 2]
    assert 'HTTP 400: {"error": "prompt too long"}' in groups[0].error
    assert 'HTTP 404: {"error": "no such model"}' in groups[1].error
    page = client.get(reverse("generation:page", args=[experiment.slug])).content.decode()
    assert "prompt too long" in page and "no such model" in page and "Retry failed answers" in page
    assert 'id="g-cancel" hidden' in page  # nothing to cancel


def test_retry_failed_requeues_only_the_failed_answers(client, owner, experiment, served,
                                                        django_capture_on_commit_callbacks):
    served.script = [TOO_LONG] * 4
    client.force_login(owner)
    generate(client, experiment, django_capture_on_commit_callbacks)
    failed = set(Answer.objects.filter(status="failed").values_list("pk", flat=True))
    done_before = {a.pk: a.generated_at for a in Answer.objects.filter(status="done")}
    assert len(failed) == 4 and len(done_before) == 28
    requests_before = len(served.requests)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("generation:retry", args=[experiment.slug]), follow=True)
    retry = GenerationJob.objects.first()
    assert f"Job #{retry.pk} queued: the 4 failed answers again, via openai" in response.content.decode()
    assert set(retry.answers.values_list("pk", flat=True)) == failed
    assert len(served.requests) - requests_before == 4
    assert {a.pk: a.generated_at for a in Answer.objects.filter(pk__in=done_before)} == done_before
    experiment.refresh_from_db()
    assert GenerationJob.objects.get(pk=retry.pk).state == "done"
    assert experiment.status == "ready" and not failure_summary(experiment)


def test_retry_with_nothing_failed_says_so(client, owner, experiment, served, django_capture_on_commit_callbacks):
    client.force_login(owner)
    page = client.post(reverse("generation:retry", args=[experiment.slug]), follow=True).content.decode()
    assert "small has had no generation job; nothing to retry" in page
    served.script = [TOO_LONG]
    generate(client, experiment, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("generation:retry", args=[experiment.slug]))
    page = client.post(reverse("generation:retry", args=[experiment.slug]), follow=True).content.decode()
    assert "no answer of small has failed; nothing to retry" in page
    assert GenerationJob.objects.count() == 2


def test_retry_of_a_vllm_job_is_refused_in_eager_mode(client, owner, experiment, eager):
    GenerationJob.objects.create(experiment=experiment, backend="vllm", state="failed")
    client.force_login(owner)
    page = client.post(reverse("generation:retry", args=[experiment.slug]), follow=True).content.decode()
    assert "backend vllm: this deployment runs tasks inside the web process" in page
    assert GenerationJob.objects.count() == 1


def test_the_status_endpoint_reports_counts_speed_and_failures(client, owner, experiment, served,
                                                               django_capture_on_commit_callbacks):
    served.script = [TOO_LONG] * 2
    client.force_login(owner)
    generate(client, experiment, django_capture_on_commit_callbacks)
    response = client.get(reverse("generation:status", args=[experiment.slug]))
    assert response["Content-Type"] == "application/json" and response["Cache-Control"] == "no-store"
    data = json.loads(response.content)
    assert (data["total"], data["done"], data["failed"], data["open"]) == (32, 30, 2, 0)
    assert data["status"] == "draft" and data["status_label"] == "Draft"
    job = data["job"]
    assert (job["state"], job["active"], job["done"], job["failed"]) == ("failed", False, 30, 2)
    assert job["answers_per_second"] > 0 and job["tokens_per_second"] > 0
    assert job["completion_tokens"] == sum(Answer.objects.values_list("completion_tokens", flat=True))
    assert data["failures"] == [{"error": failure_summary(experiment)[0].error, "count": 2}]


def test_the_status_endpoint_before_any_job(client, owner, experiment):
    client.force_login(owner)
    data = client.get(reverse("generation:status", args=[experiment.slug])).json()
    assert data == {"status": "draft", "status_label": "Draft", "total": 32, "done": 0, "failed": 0, "open": 0,
                    "excluded": 0, "job": None, "failures": []}


def test_another_experimenter_gets_404_from_every_generation_url(client, outsider, experiment):
    client.force_login(outsider)
    for name in ("page", "status", "answers"):
        assert client.get(reverse(f"generation:{name}", args=[experiment.slug])).status_code == 404
    for name in ("start", "retry", "cancel"):
        assert client.post(reverse(f"generation:{name}", args=[experiment.slug]), {"backend": "openai"}).status_code == 404
    assert not GenerationJob.objects.exists()


def test_failures_without_text_are_grouped_under_a_placeholder(experiment):
    from evalplat.generation.planning import create_missing_answers

    create_missing_answers(experiment)
    Answer.objects.filter(pk__in=list(Answer.objects.values_list("pk", flat=True)[:3])).update(status="failed")
    assert failure_summary(experiment) == (FailureGroup("(no error text recorded)", 3),)

