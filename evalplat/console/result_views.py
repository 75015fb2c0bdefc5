"""The console's results: the effect report of the judgments so far, and the downloads.

Both read `snapshots.analysis_for`, so neither fits when the judgments have not changed. The
analysis (scipy, pandas: seconds to import) is imported inside the views, not at module level:
the URL configuration imports this module, and a fresh web worker must serve its first rater
page without loading the statistics stack (tests/project/test_imports.py).
"""
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render

from evalplat.console.pages import experimenter_page
from evalplat.experiments.access import experiment_for_user


@experimenter_page
def report(request, slug):
    """The self-contained HTML report, exactly as `manage.py analyze` writes it."""
    from evalplat.analysis.report import render_report
    from evalplat.analysis.snapshots import NoAnalysis, analysis_for

    experiment = experiment_for_user(request, slug)
    outcome = analysis_for(experiment)
    if isinstance(outcome, NoAnalysis):
        return render(request, "console/no_report.html", {"experiment": experiment, "section": "results",
                                                          "reason": outcome.reason})
    return HttpResponse(render_report(outcome))


@experimenter_page
def export(request, slug):
    """A zip of the analysis (effects.json/csv, report.html, CSVs) and the export bundle."""
    from evalplat.analysis.bundle import ExportRefused, export_archive
    from evalplat.analysis.snapshots import NoAnalysis, analysis_for

    experiment = experiment_for_user(request, slug)
    outcome = analysis_for(experiment)
    try:
        archive = export_archive(experiment, None if isinstance(outcome, NoAnalysis) else outcome,
                                 request.GET.get("distill", "best"))
    except ExportRefused as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    response = HttpResponse(archive, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{experiment.slug}-export.zip"'
    return response
