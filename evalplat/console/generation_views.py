"""The console's Generation step: its page, the live status it polls, the controls (start, cancel,
retry failed, import) and the answer browser with the leak-check flags and the exclude switch.

It composes public functions of generation (planning, progress, importing) and of rating (the
leak flags and their exclusion), which is why it lives here, above both. Model output is
untrusted: the browser renders it through rating's sanitising Markdown, as rater pages do.
"""
import tempfile
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Prefetch
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from evalplat.experiments.access import experiment_for_user
from evalplat.generation.backends.replay import ReplayError
from evalplat.generation.importing import import_answers
from evalplat.generation.models import Answer
from evalplat.generation.planning import (PlanningError, available_backends, check_backend_available, retry_failed,
                                          runs_eagerly, start_job)
from evalplat.generation.progress import generation_progress
from evalplat.rating import leaks
from evalplat.rating.markdown import render_markdown
from evalplat.rating.models import LeakFlag

MAX_UPLOAD_BYTES = 200_000_000
ANSWERS_PER_PAGE = 20
BACKEND_LABELS = {"vllm": "vLLM (GPU worker)", "openai": "OpenAI-compatible server"}
LEAK_FILTERS = {"": "all answers", "flagged": "flagged by the leak check", "clean": "not flagged"}
STATUS_FILTERS = {"": "any status", **{value: label.lower() for value, label in Answer.Status.choices},
                  "excluded": "excluded"}


def _back_to_page(slug):
    return redirect("generation:page", slug=slug)


@login_required
@require_GET
def page(request, slug):
    experiment = experiment_for_user(request, slug)
    progress = generation_progress(experiment)
    return render(request, "console/generation.html", {
        "experiment": experiment,
        "progress": progress,
        "backends": [(name, BACKEND_LABELS[name]) for name in available_backends()],
        "eager": runs_eagerly(),
        "status_url": reverse("generation:status", args=[experiment.slug]),
    })


@login_required
@require_GET
def status(request, slug):
    """What the page polls: the same figures as the page, as JSON (owner only; 404 to others)."""
    experiment = experiment_for_user(request, slug)
    response = JsonResponse(generation_progress(experiment).as_json())
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def start(request, slug):
    experiment = experiment_for_user(request, slug)
    backend = request.POST.get("backend", "")
    try:
        check_backend_available(backend)
        job = start_job(experiment, backend)
    except PlanningError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Job #{job.pk} queued: {job.total} answers via {backend}."
                         + ("" if runs_eagerly() else " A worker (manage.py worker) picks it up."))
    return _back_to_page(slug)


@login_required
@require_POST
def retry(request, slug):
    experiment = experiment_for_user(request, slug)
    try:
        job = retry_failed(experiment)
    except PlanningError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Job #{job.pk} queued: the {job.total} failed answers again, via {job.backend}.")
    return _back_to_page(slug)


@login_required
@require_POST
def cancel(request, slug):
    experiment = experiment_for_user(request, slug)
    job = experiment.generation_jobs.first()
    if job is not None and job.cancel():
        messages.success(request, f"Cancelled job #{job.pk}; answers already generated are kept.")
    else:
        messages.error(request, "No running job to cancel.")
    return _back_to_page(slug)


@login_required
@require_POST
def upload_answers(request, slug):
    experiment = experiment_for_user(request, slug)
    upload = request.FILES.get("answers")
    if upload is None or upload.size > MAX_UPLOAD_BYTES:
        messages.error(request, "answers: choose a JSONL file (at most 200 MB)")
        return _back_to_page(slug)
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as stored:
        for chunk in upload.chunks():
            stored.write(chunk)
        stored.flush()
        try:
            count = import_answers(experiment, stored.name, partial=bool(request.POST.get("partial")))
        except ReplayError as exc:
            text = str(exc).replace(stored.name, upload.name)
            messages.error(request, f"{len(exc.problems)} problem(s); nothing imported:\n{text}")
            return _back_to_page(slug)
    messages.success(request, f"Imported {count} answers from {upload.name}.")
    return _back_to_page(slug)


def _choice(request, name, allowed):
    """A filter's value from the query string; anything unknown counts as no filter."""
    value = request.GET.get(name, "")
    return value if value in allowed else ""


@login_required
@require_GET
def answers(request, slug):
    experiment = experiment_for_user(request, slug)
    variants = {v.code: v for v in experiment.variants.all()}
    queries = {q.key: q for q in experiment.queries.all()}
    chosen = {"variant": _choice(request, "variant", variants), "query": _choice(request, "query", queries),
              "leak": _choice(request, "leak", LEAK_FILTERS), "status": _choice(request, "status", STATUS_FILTERS)}
    rows = (Answer.objects.filter(experiment=experiment).select_related("variant", "query")
            .annotate(flagged=Exists(LeakFlag.objects.filter(answer=OuterRef("pk"))))
            .prefetch_related(Prefetch("leak_flags", queryset=LeakFlag.objects.order_by("kind"))))
    if chosen["variant"]:
        rows = rows.filter(variant=variants[chosen["variant"]])
    if chosen["query"]:
        rows = rows.filter(query=queries[chosen["query"]])
    if chosen["leak"]:
        rows = rows.filter(flagged=chosen["leak"] == "flagged")
    if chosen["status"] == "excluded":
        rows = rows.filter(excluded=True)
    elif chosen["status"]:
        rows = rows.filter(status=chosen["status"])
    listing = Paginator(rows, ANSWERS_PER_PAGE).get_page(request.GET.get("page"))
    filters = urlencode({name: value for name, value in chosen.items() if value})
    return render(request, "console/answers.html", {
        "experiment": experiment,
        "listing": listing,
        "shown": [(answer, render_markdown(answer.text)) for answer in listing],
        "variants": variants, "queries": queries, "chosen": chosen, "filters": filters,
        "leak_filters": LEAK_FILTERS, "status_filters": STATUS_FILTERS,
        "can_include": not experiment.answers_frozen,
        "back": request.get_full_path(),
    })


@login_required
@require_POST
def exclude(request, slug, answer_id):
    """The answer browser's exclude switch: "exclude" keeps the answer from raters (with its
    leak flags as the reason, like the leak page's button); "include" undoes it before rating."""
    experiment = experiment_for_user(request, slug)
    answer = get_object_or_404(Answer.objects.select_related("variant", "query"), pk=answer_id,
                               experiment=experiment)
    what = f"the answer of {answer.variant.code} to {answer.query.key}"
    if request.POST.get("action") == "include":
        if answer.include_again():
            messages.success(request, f"Included {what} again.")
        else:
            messages.error(request, f"Cannot include {what}: it is not excluded, or rating has opened "
                                    "(answers kept from raters stay out).")
    elif leaks.exclude_answer(answer):
        messages.success(request, f"Excluded {what}; raters will not see it.")
    else:
        messages.error(request, f"{what[0].upper()}{what[1:]} is excluded already.")
    back = request.POST.get("back", "")
    answers_url = reverse("generation:answers", args=[slug])
    # Only back to a page of this browser, so the form cannot be used to send anyone elsewhere.
    return redirect(back if back.startswith(answers_url) else answers_url)
