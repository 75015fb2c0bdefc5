"""The console's generation controls: start a job, cancel it, import answers made elsewhere."""
import tempfile

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from evalplat.experiments.access import experiment_for_user
from evalplat.generation.backends.replay import ReplayError
from evalplat.generation.importing import import_answers
from evalplat.generation.planning import PlanningError, start_job

# Replay needs a file the workers can read; the console imports uploads directly instead.
CONSOLE_BACKENDS = ("vllm", "openai")
MAX_UPLOAD_BYTES = 200_000_000


@login_required
@require_POST
def start(request, slug):
    experiment = experiment_for_user(request, slug)
    backend = request.POST.get("backend", "")
    if backend not in CONSOLE_BACKENDS:
        messages.error(request, f"backend: choose one of {', '.join(CONSOLE_BACKENDS)}")
    else:
        try:
            job = start_job(experiment, backend)
            messages.success(request, f"Job #{job.pk} queued: {job.total} answers via {backend}. "
                                      "A GPU worker (manage.py worker) picks it up.")
        except PlanningError as exc:
            messages.error(request, str(exc))
    return redirect("console:detail", slug=slug)


@login_required
@require_POST
def cancel(request, slug):
    experiment = experiment_for_user(request, slug)
    job = experiment.generation_jobs.first()
    if job is not None and job.cancel():
        messages.success(request, f"Cancelled job #{job.pk}; answers already generated are kept.")
    else:
        messages.error(request, "No running job to cancel.")
    return redirect("console:detail", slug=slug)


@login_required
@require_POST
def upload_answers(request, slug):
    experiment = experiment_for_user(request, slug)
    upload = request.FILES.get("answers")
    if upload is None or upload.size > MAX_UPLOAD_BYTES:
        messages.error(request, "answers: choose a JSONL file (at most 200 MB)")
        return redirect("console:detail", slug=slug)
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as stored:
        for chunk in upload.chunks():
            stored.write(chunk)
        stored.flush()
        try:
            count = import_answers(experiment, stored.name, partial=bool(request.POST.get("partial")))
        except ReplayError as exc:
            text = str(exc).replace(stored.name, upload.name)
            messages.error(request, f"{len(exc.problems)} problem(s); nothing imported:\n{text}")
            return redirect("console:detail", slug=slug)
    messages.success(request, f"Imported {count} answers from {upload.name}.")
    return redirect("console:detail", slug=slug)
