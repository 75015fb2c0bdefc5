"""The console's list of experiments and an experiment's own page."""
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render

from evalplat.console.counts import ATTENTION_RULE, study_counts
from evalplat.experiments.access import experiment_for_user
from evalplat.experiments.models import Experiment
from evalplat.generation.models import GenerationJob


@login_required
def index(request):
    experiments = list(Experiment.objects.visible_to(request.user)
                       .annotate(n_variants=Count("variants", distinct=True), n_queries=Count("queries", distinct=True)))
    rows = [(experiment, study_counts(experiment)) for experiment in experiments]
    return render(request, "console/index.html", {"rows": rows, "attention_rule": ATTENTION_RULE})


@login_required
def detail(request, slug):
    experiment = experiment_for_user(request, slug)
    factor_names, variant_rows = experiment.variants_table()
    return render(request, "console/detail.html", {
        "experiment": experiment,
        "section": "overview",
        "factors": experiment.factors.prefetch_related("levels"),
        "factor_names": factor_names,
        "variant_rows": variant_rows,
        "queries": experiment.queries.all(),
        "alias_lines": experiment.alias_report.get("lines", []),
        "counts": study_counts(experiment),
        "attention_rule": ATTENTION_RULE,
        "latest_job": GenerationJob.objects.filter(experiment=experiment).first(),
    })
