"""The experimenter console: the list of experiments and an experiment's page (new ones: evalplat.console)."""
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render

from evalplat.experiments.access import experiment_for_user
from evalplat.experiments.models import Experiment


@login_required
def index(request):
    experiments = (Experiment.objects.visible_to(request.user)
                   .annotate(n_variants=Count("variants", distinct=True), n_queries=Count("queries", distinct=True)))
    return render(request, "console/index.html", {"experiments": experiments})


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
