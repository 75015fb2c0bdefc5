"""The console's rating pages: progress, invite links, opening and closing rating, the leak check."""
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from evalplat.console.counts import ATTENTION_RULE, study_counts
from evalplat.console.pages import experimenter_page
from evalplat.experiments.access import experiment_for_user
from evalplat.generation.models import Answer
from evalplat.rating import leaks
from evalplat.rating.forms import InviteForm
from evalplat.rating.models import Assignment, Invite, LeakFlag
from evalplat.rating.scheduling import refill


@experimenter_page
def rating(request, slug):
    experiment = experiment_for_user(request, slug)
    counts = study_counts(experiment)
    return render(request, "console/rating_progress.html", {
        "experiment": experiment,
        "section": "rating",
        "settings": experiment.rating_settings,
        "counts": counts,
        "attention_rule": ATTENTION_RULE,
        "problems": experiment.assignments.filter(status=Assignment.Status.SKIPPED).select_related("query")[:50],
        "n_flagged": LeakFlag.objects.filter(answer__experiment=experiment, answer__excluded=False)
                                     .values("answer").distinct().count(),
        "invites": experiment.invites.all(),
        "invite_form": InviteForm(),
        "site_url": request.build_absolute_uri("/").rstrip("/"),
    })


@experimenter_page
@require_POST
def rating_status(request, slug):
    experiment = experiment_for_user(request, slug)
    opening = request.POST.get("action") == "open"
    status_before = experiment.get_status_display().lower()
    changed = experiment.open_rating() if opening else experiment.close_rating()
    if changed and opening:
        refill(experiment)  # the first batch of items, so the first raters need not wait for it
    if changed:
        messages.success(request, "Rating is open." if opening else "Rating is closed.")
    else:
        messages.error(request, f"Rating cannot be {'opened' if opening else 'closed'} while the experiment "
                                f"is {status_before}.")
    return redirect("console:rating", slug=slug)


@experimenter_page
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


@experimenter_page
@require_POST
def invite_revoke(request, slug, invite_id):
    experiment = experiment_for_user(request, slug)
    invite = get_object_or_404(Invite, pk=invite_id, experiment=experiment)
    Invite.objects.filter(pk=invite.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    messages.success(request, "The link no longer works.")
    return redirect("console:rating", slug=slug)


@experimenter_page
def leak_check(request, slug):
    experiment = experiment_for_user(request, slug)
    if request.method == "POST":
        flagged = leaks.check_experiment(experiment)
        messages.success(request, f"Leak check done: {flagged} answer(s) flagged.")
        return redirect("console:leaks", slug=slug)
    flags = (LeakFlag.objects.filter(answer__experiment=experiment)
             .select_related("answer__variant", "answer__query").order_by("answer__excluded", "answer_id", "kind"))
    return render(request, "console/rating_leaks.html", {"experiment": experiment, "section": "leaks",
                                                         "flags": flags})


@experimenter_page
@require_POST
def exclude_answer(request, slug, answer_id):
    experiment = experiment_for_user(request, slug)
    answer = get_object_or_404(Answer, pk=answer_id, experiment=experiment)
    reasons = "; ".join(flag.get_kind_display().lower() for flag in answer.leak_flags.all())
    Answer.objects.filter(pk=answer.pk).update(excluded=True, exclusion_reason=f"leak check: {reasons}"[:300])
    messages.success(request, f"Excluded the answer of {answer.variant.code} to {answer.query.key}.")
    return redirect("console:leaks", slug=slug)
