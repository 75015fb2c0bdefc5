"""The console's rating pages: progress, invite links, opening and closing rating, the leak check.

The interim analysis (scipy) is imported inside the view that shows it: the URL configuration
imports this module, and must not load the statistics stack (tests/project/test_imports.py).
"""
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from evalplat.console.counts import ATTENTION_RULE, rater_progress, study_counts
from evalplat.experiments.access import experiment_for_user
from evalplat.generation.models import Answer
from evalplat.rating import leaks
from evalplat.rating.forms import InviteForm
from evalplat.rating.models import Assignment, Invite, LeakFlag
from evalplat.rating.opening import leak_check_state, open_rating, opened_anyway

RATER_ROWS = 100
# What Prolific's study URL appends so that each participant's ids reach the study link.
PROLIFIC_QUERY = "?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"


@login_required
def rating(request, slug):
    experiment = experiment_for_user(request, slug)
    raters, n_raters = rater_progress(experiment, limit=RATER_ROWS)
    return render(request, "console/rating_progress.html", {
        "experiment": experiment,
        "section": "rating",
        "settings": experiment.rating_settings,
        "counts": study_counts(experiment),
        "attention_rule": ATTENTION_RULE,
        "leak_check": leak_check_state(experiment),
        "opened_anyway": opened_anyway(experiment),
        "raters": raters,
        "raters_hidden": n_raters - len(raters),
        "fast_seconds": settings.RATING_FAST_MEDIAN_SECONDS,
        "interim": _interim(experiment),
        "problems": experiment.assignments.filter(status=Assignment.Status.SKIPPED).select_related("query")[:50],
        "n_flagged": LeakFlag.objects.filter(answer__experiment=experiment, answer__excluded=False)
                                     .values("answer").distinct().count(),
        "invites": experiment.invites.all(),
        "invite_form": InviteForm(),
        "site_url": request.build_absolute_uri("/").rstrip("/"),
        "prolific_query": PROLIFIC_QUERY,
    })


@dataclass(frozen=True)
class InterimPart:
    """One question's analysis so far: a design's one question, or one of its criteria."""
    criterion: str              # "" for a design's one question
    result: object              # analysis.result.AnalysisResult
    look: object = None         # analysis.interim.InterimLook, or None
    reason: str = ""            # why there is no look yet


@dataclass(frozen=True)
class Interim:
    """What the rating page shows of the analysis so far: effects, agreement, the stopping statement."""
    target: float               # the half-width the stopping rule asks of every effect's interval
    parts: tuple = ()           # an InterimPart per question (per criterion with criteria)
    reason: str = ""            # why there is no analysis yet


def _interim(experiment):
    """The analysis of the judgments so far (fitted once per new judgment, `analysis_for`) and, for
    each question, its interim look against the precision the design's Check estimated the
    judgments for: rating can stop once every criterion's look says so."""
    from evalplat.analysis.criteria import CriteriaAnalysis
    from evalplat.analysis.interim import interim_look
    from evalplat.analysis.preview import DEFAULT_HALFWIDTH
    from evalplat.analysis.snapshots import NoAnalysis, analysis_for

    outcome = analysis_for(experiment)
    if isinstance(outcome, NoAnalysis):
        return Interim(DEFAULT_HALFWIDTH, reason=outcome.reason)
    questions = ([(part.criterion, part.result) for part in outcome.criteria]
                 if isinstance(outcome, CriteriaAnalysis) else [("", outcome)])
    parts = []
    for criterion, result in questions:
        try:
            parts.append(InterimPart(criterion, result, look=interim_look(result, DEFAULT_HALFWIDTH)))
        except ValueError as exc:
            parts.append(InterimPart(criterion, result, reason=str(exc)))
    return Interim(DEFAULT_HALFWIDTH, parts=tuple(parts))


@login_required
@require_POST
def rating_status(request, slug):
    experiment = experiment_for_user(request, slug)
    action = request.POST.get("action")
    if action in ("open", "open-anyway"):
        opening = open_rating(experiment, by=request.user, anyway=action == "open-anyway")
        (messages.success if opening.opened else messages.error)(request, opening.message)
    elif action != "close":
        messages.error(request, "action: choose open, open-anyway or close")
    elif experiment.close_rating():
        messages.success(request, "Rating is closed: a rater who comes back is told the study is not open, and "
                                  "nothing more is recorded. Open it again to go on.")
    else:
        messages.error(request, f"Rating cannot be closed while the experiment is "
                                f"{experiment.get_status_display().lower()}.")
    return redirect("console:rating", slug=slug)


@login_required
@require_POST
def invite_create(request, slug):
    experiment = experiment_for_user(request, slug)
    form = InviteForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
        return redirect("console:rating", slug=slug)
    for _ in range(form.cleaned_data["count"]):
        Invite.objects.create(experiment=experiment, created_by=request.user,
                              **{name: form.cleaned_data[name] for name in InviteForm.Meta.fields})
    messages.success(request, "Invite link created." if form.cleaned_data["count"] == 1
                     else f"{form.cleaned_data['count']} invite links created.")
    return redirect("console:rating", slug=slug)


@login_required
@require_POST
def invite_revoke(request, slug, invite_id):
    experiment = experiment_for_user(request, slug)
    invite = get_object_or_404(Invite, pk=invite_id, experiment=experiment)
    Invite.objects.filter(pk=invite.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    messages.success(request, "The link no longer works.")
    return redirect("console:rating", slug=slug)


@login_required
def leak_check(request, slug):
    experiment = experiment_for_user(request, slug)
    if request.method == "POST":
        flagged = leaks.check_experiment(experiment, by=request.user)
        messages.success(request, f"Leak check done: {flagged} of {leak_check_state(experiment).answers} answers "
                                  "flagged.")
        return redirect("console:leaks", slug=slug)
    flags = (LeakFlag.objects.filter(answer__experiment=experiment)
             .select_related("answer__variant", "answer__query").order_by("answer__excluded", "answer_id", "kind"))
    return render(request, "console/rating_leaks.html", {"experiment": experiment, "section": "leaks",
                                                         "flags": flags, "leak_check": leak_check_state(experiment)})


@login_required
@require_POST
def exclude_answer(request, slug, answer_id):
    experiment = experiment_for_user(request, slug)
    answer = get_object_or_404(Answer, pk=answer_id, experiment=experiment)
    leaks.exclude_answer(answer)
    messages.success(request, f"Excluded the answer of {answer.variant.code} to {answer.query.key}.")
    return redirect("console:leaks", slug=slug)
