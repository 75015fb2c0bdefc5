"""The experimenter console: the list of experiments, design upload, and an experiment's page."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from evalplat.experiments.access import experiment_for_user
from evalplat.experiments.importing import ImportRefused, import_design_text
from evalplat.experiments.models import Experiment

MAX_DESIGN_BYTES = 1_000_000


@login_required
def index(request):
    experiments = (Experiment.objects.visible_to(request.user)
                   .annotate(n_variants=Count("variants", distinct=True), n_queries=Count("queries", distinct=True)))
    return render(request, "console/index.html", {"experiments": experiments})


@login_required
@require_POST
def upload(request):
    upload = request.FILES.get("design")
    if upload is not None:
        if upload.size > MAX_DESIGN_BYTES:
            messages.error(request, f"{upload.name}: larger than {MAX_DESIGN_BYTES // 1000} kB")
            return redirect("console:index")
        try:
            text, name = upload.read().decode("utf-8"), upload.name
        except UnicodeDecodeError:
            messages.error(request, f"{upload.name}: not UTF-8 text")
            return redirect("console:index")
    else:
        text, name = request.POST.get("text", ""), "pasted design"
    try:
        experiment = import_design_text(text, name, owner=request.user, replace=bool(request.POST.get("replace")))
    except ImportRefused as exc:
        messages.error(request, str(exc))
        return redirect("console:index")
    messages.success(request, f"Created {experiment.slug}.")
    return redirect("console:detail", slug=experiment.slug)


@login_required
def detail(request, slug):
    experiment = experiment_for_user(request, slug)
    factor_names, variant_rows = experiment.variants_table()
    return render(request, "console/detail.html", {
        "experiment": experiment,
        "factors": experiment.factors.prefetch_related("levels"),
        "factor_names": factor_names,
        "variant_rows": variant_rows,
        "queries": experiment.queries.all(),
        "alias_lines": experiment.alias_report.get("lines", []),
        **experiment.progress(),
    })
