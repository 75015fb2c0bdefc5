"""The console's list of experiments and an experiment's own page."""
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import render

from evalplat.console.counts import ATTENTION_RULE, study_counts
from evalplat.experiments.access import experiment_for_user
from evalplat.experiments.models import Experiment
from evalplat.generation.models import GenerationJob

EXPERIMENTS_PER_PAGE = 25  # each row costs its counts' queries (console.counts)
QUERIES_PER_PAGE = 50


@login_required
def index(request):
    experiments = (Experiment.objects.visible_to(request.user).order_by("-created_at", "-id")
                   .annotate(n_variants=Count("variants", distinct=True), n_queries=Count("queries", distinct=True)))
    listing = Paginator(experiments, EXPERIMENTS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [(experiment, study_counts(experiment)) for experiment in listing]
    return render(request, "console/index.html", {"rows": rows, "listing": listing, "attention_rule": ATTENTION_RULE})


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
        # A design may hold 100,000 queries (designs.limits): a page of them at a time.
        "listing": Paginator(experiment.queries.order_by("position"), QUERIES_PER_PAGE).get_page(request.GET.get("page")),
        "alias_lines": experiment.alias_report.get("lines", []),
        "counts": study_counts(experiment),
        "attention_rule": ATTENTION_RULE,
        "latest_job": GenerationJob.objects.filter(experiment=experiment).first(),
    })
