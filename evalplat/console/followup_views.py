"""The console's buttons for what follows an experiment: confirm, distil, check the distilled model.

Each is a POST that calls the plain function the command calls and goes back to the
experiment's page with what happened. The follow-ups fit the analysis model, so they are
imported inside the views: the URL configuration, which every rater page loads, must not pull
in scipy (tests/project/test_imports.py).
"""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from evalplat.distill.models import DistillationRun
from evalplat.experiments.access import experiment_for_user


@login_required
@require_POST
def confirm(request, slug):
    from evalplat.distill.followups import FollowUpRefused, create_confirmation

    experiment = experiment_for_user(request, slug)
    try:
        follow_up = create_confirmation(experiment, owner=request.user)
    except FollowUpRefused as exc:
        messages.error(request, str(exc))
        return redirect("console:detail", slug=slug)
    messages.success(request, f"Created the confirmation run {follow_up.experiment.slug} "
                              f"({follow_up.queries} held-out queries; about {follow_up.judgments_needed} judgments).")
    return redirect("console:detail", slug=follow_up.experiment.slug)


@login_required
@require_POST
def distill(request, slug):
    from evalplat.distill.runner import DistillRefused, queue_distillation

    experiment = experiment_for_user(request, slug)
    try:
        run = queue_distillation(experiment, request.POST.get("variant", "best") or "best",
                                 request.POST.get("base", "").strip(), request.POST.get("out", "").strip()
                                 or f"var/distilled/{experiment.slug}", user=request.user)
    except DistillRefused as exc:
        messages.error(request, str(exc))
        return redirect("console:detail", slug=slug)
    messages.success(request, f"Distillation #{run.pk} of {run.variant} ({run.variant_note}) queued for a GPU worker; "
                              f"it writes {run.out}/adapter and {run.out}/merged.")
    return redirect("console:detail", slug=slug)


@login_required
@require_POST
def distill_check(request, slug):
    from evalplat.distill.followups import FollowUpRefused, create_distillation_check

    experiment = experiment_for_user(request, slug)
    run = DistillationRun.objects.filter(experiment=experiment, state=DistillationRun.State.DONE).first()
    if run is None:
        messages.error(request, "No finished distillation of this experiment to check yet.")
        return redirect("console:detail", slug=slug)
    try:
        follow_up = create_distillation_check(experiment, run.result["adapter"], variant=run.variant, base=run.base,
                                              owner=request.user)
    except FollowUpRefused as exc:
        messages.error(request, str(exc))
        return redirect("console:detail", slug=slug)
    messages.success(request, f"Created the distillation check {follow_up.experiment.slug}.")
    return redirect("console:detail", slug=follow_up.experiment.slug)
