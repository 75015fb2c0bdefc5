"""Rater pages (blinded) and the rating pages of the experimenter console.

Rater pages never name a variant, level, answer or database row: an item is
reached by its assignment's random public id, the rater by their session,
and the two answers are only ever "Response A" and "Response B".
"""
import secrets
from functools import wraps
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from evalplat.experiments.access import experiment_for_user
from evalplat.experiments.models import Experiment
from evalplat.generation.models import Answer
from evalplat.rating import leaks
from evalplat.rating.forms import JudgmentForm, InviteForm, ProblemForm
from evalplat.rating.markdown import render_markdown
from evalplat.rating.models import Assignment, Invite, Judgment, LeakFlag, Rater
from evalplat.rating.scheduling import next_assignment

SESSION_RATER = "rating_rater"
PROLIFIC_PARAMS = ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID")
MTURK_PARAMS = ("workerId", "assignmentId", "hitId", "turkSubmitTo")
MTURK_PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE"
MTURK_HOSTS = ("www.mturk.com", "workersandbox.mturk.com")


def rater_page(view):
    """Headers for every rater response: a strict CSP, no caching, no indexing.

    The CSP is a second wall behind sanitising: even if an answer smuggled
    markup through, the browser would run no script but ours (by nonce), load
    no image, font or frame, and send no request anywhere.
    """
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        request.csp_nonce = secrets.token_urlsafe(16)
        response = view(request, *args, **kwargs)
        form_action = " ".join(["'self'", *getattr(response, "form_targets", [])])
        response["Content-Security-Policy"] = (
            f"default-src 'none'; script-src 'nonce-{request.csp_nonce}'; style-src 'unsafe-inline'; "
            f"form-action {form_action}; base-uri 'none'; frame-ancestors 'none'; connect-src 'none'"
        )
        response["Cache-Control"] = "no-store"
        # Not "no-referrer": Chromium then sends "Origin: null" on same-origin
        # POSTs and Django's CSRF check refuses them. Nothing leaves the site anyway.
        response["Referrer-Policy"] = "same-origin"
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response
    return wrapped


def _session_rater(request):
    rater_id = request.session.get(SESSION_RATER)
    if rater_id is None:
        return None
    return Rater.objects.select_related("experiment", "invite").filter(pk=rater_id).first()


def _rater_or_404(request):
    rater = _session_rater(request)
    if rater is None:
        raise Http404("No rating session in this browser; please open your study link again.")
    return rater


def _assignment_for_rater(request, public_id):
    """The rater's own assignment; anybody else's is a 404, never a 403 (don't confirm it exists)."""
    rater = _rater_or_404(request)
    return get_object_or_404(
        Assignment.objects.select_related("query", "left_answer", "right_answer", "rater__experiment"),
        public_id=public_id, rater=rater,
    )


def _platform_params(request, invite):
    names = {Invite.Platform.PROLIFIC: PROLIFIC_PARAMS, Invite.Platform.MTURK: MTURK_PARAMS}.get(
        invite.platform, PROLIFIC_PARAMS + MTURK_PARAMS)
    return {name: request.GET[name][:200] for name in names if request.GET.get(name)}


def _rater_for_invite(request, invite):
    params = _platform_params(request, invite)
    external_id = params.get("PROLIFIC_PID") or params.get("workerId") or ""
    if invite.kind == Invite.Kind.SINGLE:
        rater = invite.raters.first()
        return rater or Rater.objects.create(experiment=invite.experiment, invite=invite, platform_params=params)
    if external_id:
        try:
            with transaction.atomic():
                rater, _ = Rater.objects.get_or_create(
                    invite=invite, external_id=external_id,
                    defaults={"experiment": invite.experiment, "platform_params": params})
        except IntegrityError:  # the same participant opened the link twice at once
            rater = Rater.objects.get(invite=invite, external_id=external_id)
        return rater
    current = _session_rater(request)
    if current is not None and current.invite_id == invite.pk:
        return current  # an anonymous participant reloading the link
    return Rater.objects.create(experiment=invite.experiment, invite=invite, platform_params=params)


@rater_page
def start(request, token):
    invite = get_object_or_404(Invite.objects.select_related("experiment"), token=token, revoked_at__isnull=True)
    experiment = invite.experiment
    if experiment.status != Experiment.Status.RATING:
        return render(request, "rating/closed.html", status=200)
    if request.GET.get("assignmentId") == MTURK_PREVIEW:
        return render(request, "rating/preview.html", {
            "instructions": render_markdown(experiment.instructions), "settings": experiment.rating_settings})
    rater = _rater_for_invite(request, invite)
    request.session.cycle_key()
    request.session[SESSION_RATER] = rater.pk
    return redirect("rating:welcome")


@rater_page
def welcome(request):
    rater = _rater_or_404(request)
    if request.method == "POST":
        if request.POST.get("consent") == "yes":
            Rater.objects.filter(pk=rater.pk, consented_at__isnull=True).update(consented_at=timezone.now())
            return redirect("rating:next")
        return render(request, "rating/welcome.html", {
            "instructions": render_markdown(rater.experiment.instructions),
            "settings": rater.experiment.rating_settings, "needs_consent": True}, status=400)
    if rater.consented_at is not None:
        return redirect("rating:next")
    return render(request, "rating/welcome.html", {
        "instructions": render_markdown(rater.experiment.instructions),
        "settings": rater.experiment.rating_settings})


@rater_page
def next_item(request):
    rater = _rater_or_404(request)
    if rater.consented_at is None:
        return redirect("rating:welcome")
    if rater.status == Rater.Status.ACTIVE and rater.experiment.status != Experiment.Status.RATING:
        return render(request, "rating/closed.html")
    assignment = next_assignment(rater)
    if assignment is None:
        return redirect("rating:done")
    return redirect("rating:item", public_id=assignment.public_id)


def _progress(assignment):
    per_rater = assignment.rater.experiment.rating_settings.per_rater
    done = assignment.rater.assignments.done().count()
    return {"number": min(done + 1, per_rater), "total": per_rater,
            "percent": round(100 * done / per_rater) if per_rater else 0}


@rater_page
def item(request, public_id):
    assignment = _assignment_for_rater(request, public_id)
    if assignment.is_finished:
        return redirect("rating:next")  # back button or a second tab: move on, never judge twice
    rating = assignment.rater.experiment.rating_settings
    form = JudgmentForm(request.POST if request.method == "POST" else None, rating=rating)
    if request.method == "POST" and form.is_valid():
        assignment.record_judgment(**form.judgment_fields())
        return redirect("rating:next")
    assignment.mark_shown()
    return render(request, "rating/item.html", {
        "assignment": assignment,
        "experiment": assignment.rater.experiment,
        "query_html": render_markdown(assignment.query.text),
        "response_a": render_markdown(assignment.left_answer.text),
        "response_b": render_markdown(assignment.right_answer.text),
        "form": form,
        "scale": form.scale,
        "problem_form": ProblemForm(),
        "progress": _progress(assignment),
        "warn": assignment.rater.should_be_warned,
    }, status=400 if form.is_bound else 200)


@rater_page
@require_POST
def report(request, public_id):
    assignment = _assignment_for_rater(request, public_id)
    form = ProblemForm(request.POST)
    if form.is_valid():
        assignment.report_problem(form.cleaned_data["problem"], form.cleaned_data["note"])
    return redirect("rating:next")


@rater_page
def done(request):
    rater = _rater_or_404(request)
    if rater.status == Rater.Status.ACTIVE:
        return redirect("rating:next")
    context = {"rater": rater, "code": "", "redirect_url": "", "mturk": None}
    invite = rater.invite
    if rater.status == Rater.Status.FINISHED and invite is not None:
        context["code"] = invite.completion_code
        context["redirect_url"] = invite.completion_redirect()
        context["mturk"] = _mturk_submission(rater)
    response = render(request, "rating/done.html", context)
    if context["mturk"]:
        response.form_targets = [context["mturk"]["origin"]]
    return response


def _mturk_submission(rater):
    """MTurk's externalSubmit form target, if the rater came from MTurk (only MTurk's own hosts)."""
    params = rater.platform_params
    submit_to, assignment_id = params.get("turkSubmitTo", ""), params.get("assignmentId", "")
    parts = urlsplit(submit_to)
    if not assignment_id or parts.scheme != "https" or parts.hostname not in MTURK_HOSTS:
        return None
    origin = f"https://{parts.hostname}"
    return {"origin": origin, "action": f"{origin}/mturk/externalSubmit", "assignment_id": assignment_id}


# --- console ---------------------------------------------------------------

@login_required
def console_rating(request, slug):
    experiment = experiment_for_user(request, slug)
    assignments = experiment.assignments
    judgments = Judgment.objects.filter(assignment__experiment=experiment)
    gold = judgments.filter(assignment__is_gold=True)
    return render(request, "console/rating_progress.html", {
        "experiment": experiment,
        "settings": experiment.rating_settings,
        "raters": experiment.raters.aggregate(
            total=Count("pk"), active=Count("pk", filter=Q(status=Rater.Status.ACTIVE)),
            finished=Count("pk", filter=Q(status=Rater.Status.FINISHED)),
            stopped=Count("pk", filter=Q(status=Rater.Status.STOPPED))),
        "n_judgments": judgments.filter(assignment__is_gold=False).count(),
        "n_replicas": judgments.filter(assignment__kind=Assignment.Kind.REPLICA).count(),
        "n_open": assignments.open().count(),
        "n_gold": gold.count(),
        "n_gold_passed": sum(1 for j in gold.select_related("assignment") if j.passed_gold),
        "problems": assignments.filter(status=Assignment.Status.SKIPPED).select_related("query")[:50],
        "n_rateable": Answer.objects.filter(experiment=experiment).usable().count(),
        "n_flagged": LeakFlag.objects.filter(answer__experiment=experiment, answer__excluded=False)
                                     .values("answer").distinct().count(),
        "invites": experiment.invites.all(),
        "invite_form": InviteForm(),
        "site_url": request.build_absolute_uri("/").rstrip("/"),
    })


@login_required
@require_POST
def console_rating_status(request, slug):
    experiment = experiment_for_user(request, slug)
    opening = request.POST.get("action") == "open"
    status_before = experiment.get_status_display().lower()
    changed = experiment.open_rating() if opening else experiment.close_rating()
    if changed:
        messages.success(request, "Rating is open." if opening else "Rating is closed.")
    else:
        messages.error(request, f"Rating cannot be {'opened' if opening else 'closed'} while the experiment "
                                f"is {status_before}.")
    return redirect("rating:console", slug=slug)


@login_required
@require_POST
def console_invite_create(request, slug):
    experiment = experiment_for_user(request, slug)
    form = InviteForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
        return redirect("rating:console", slug=slug)
    for _ in range(form.cleaned_data["count"]):
        Invite.objects.create(experiment=experiment, created_by=request.user,
                              **{name: form.cleaned_data[name] for name in InviteForm.Meta.fields})
    messages.success(request, "Invite link created." if form.cleaned_data["count"] == 1
                     else f"{form.cleaned_data['count']} invite links created.")
    return redirect("rating:console", slug=slug)


@login_required
@require_POST
def console_invite_revoke(request, slug, invite_id):
    experiment = experiment_for_user(request, slug)
    invite = get_object_or_404(Invite, pk=invite_id, experiment=experiment)
    Invite.objects.filter(pk=invite.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    messages.success(request, "The link no longer works.")
    return redirect("rating:console", slug=slug)


@login_required
def console_leaks(request, slug):
    experiment = experiment_for_user(request, slug)
    if request.method == "POST":
        flagged = leaks.check_experiment(experiment)
        messages.success(request, f"Leak check done: {flagged} answer(s) flagged.")
        return redirect("rating:console_leaks", slug=slug)
    flags = (LeakFlag.objects.filter(answer__experiment=experiment)
             .select_related("answer__variant", "answer__query").order_by("answer__excluded", "answer_id", "kind"))
    return render(request, "console/rating_leaks.html", {"experiment": experiment, "flags": flags})


@login_required
@require_POST
def console_exclude_answer(request, slug, answer_id):
    experiment = experiment_for_user(request, slug)
    answer = get_object_or_404(Answer, pk=answer_id, experiment=experiment)
    reasons = "; ".join(flag.get_kind_display().lower() for flag in answer.leak_flags.all())
    Answer.objects.filter(pk=answer.pk).update(excluded=True, exclusion_reason=f"leak check: {reasons}"[:300])
    messages.success(request, f"Excluded the answer of {answer.variant.code} to {answer.query.key}.")
    return redirect("rating:console_leaks", slug=slug)
