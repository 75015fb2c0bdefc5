import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evalplat.generation.models import Answer, GenerationJob

pytestmark = pytest.mark.django_db


def replay_lines(experiment):
    return "".join(
        json.dumps({"variant": v.code, "query": q.key, "sample": 0, "text": f"answer {v.code} {q.key}"}) + "\n"
        for v in experiment.variants.all() for q in experiment.queries.all())


def test_the_owner_imports_answers_from_the_console(client, owner, experiment):
    client.force_login(owner)
    upload = SimpleUploadedFile("answers.jsonl", replay_lines(experiment).encode())
    response = client.post(reverse("generation:upload", args=[experiment.slug]), {"answers": upload}, follow=True)
    assert "Imported 32 answers from answers.jsonl" in response.content.decode()
    assert Answer.objects.filter(experiment=experiment, status="done").count() == 32


def test_a_bad_answers_file_names_its_line_and_writes_nothing(client, owner, experiment):
    client.force_login(owner)
    lines = replay_lines(experiment).splitlines()
    lines[4] = '{"variant": "v99", "query": "sky", "sample": 0, "text": "x"}'
    upload = SimpleUploadedFile("answers.jsonl", "\n".join(lines).encode())
    page = client.post(reverse("generation:upload", args=[experiment.slug]), {"answers": upload}, follow=True)
    text = page.content.decode()
    assert "nothing imported" in text and "answers.jsonl:5" in text
    assert not Answer.objects.filter(experiment=experiment, status="done").exists()


def test_starting_a_job_plans_every_answer(client, owner, experiment):
    client.force_login(owner)
    response = client.post(reverse("generation:start", args=[experiment.slug]), {"backend": "openai"}, follow=True)
    job = GenerationJob.objects.get(experiment=experiment)
    assert job.total == 32 and job.backend == "openai"
    assert f"Job #{job.pk} queued: 32 answers via openai" in response.content.decode()
    client.post(reverse("generation:cancel", args=[experiment.slug]))
    job.refresh_from_db()
    assert job.state == GenerationJob.State.CANCELLED


def test_an_unknown_backend_is_refused(client, owner, experiment):
    client.force_login(owner)
    page = client.post(reverse("generation:start", args=[experiment.slug]), {"backend": "magic"}, follow=True)
    assert "backend: choose one of vllm, openai" in page.content.decode()
    assert not GenerationJob.objects.exists()


def test_an_outsider_cannot_generate(client, outsider, experiment):
    client.force_login(outsider)
    assert client.post(reverse("generation:start", args=[experiment.slug]), {"backend": "vllm"}).status_code == 404
    assert not GenerationJob.objects.exists()
