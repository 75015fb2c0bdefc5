"""The console's analysis pages: the effect report of the judgments so far, and the downloads.

The analysis (scipy, matplotlib: seconds to import) is imported inside the views, not at module
level: the URL configuration imports this module, and a fresh web worker must serve its first
rater page without loading the statistics stack (tests/project/test_imports.py).
"""
import io
import tempfile
import zipfile
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from evalplat.experiments.access import experiment_for_user


def _analysis_or_reason(experiment):
    """(variants, judgments, result) or a sentence saying why there is no analysis yet."""
    from evalplat.analysis.data import load_experiment
    from evalplat.analysis.pipeline import run_analysis

    try:
        variants, judgments, _, design = load_experiment(experiment.slug)
        return variants, judgments, run_analysis(variants, judgments, design=design)
    except ValueError as exc:
        return str(exc)


@login_required
def report(request, slug):
    """The self-contained HTML report, exactly as `manage.py analyze` writes it."""
    from evalplat.analysis.report import render_report

    experiment = experiment_for_user(request, slug)
    outcome = _analysis_or_reason(experiment)
    if isinstance(outcome, str):
        return render(request, "console/no_report.html", {"experiment": experiment, "reason": outcome})
    return HttpResponse(render_report(outcome[2]))


@login_required
def download(request, slug):
    """A zip of the analysis (effects.json/csv, report.html, CSVs) and the export bundle."""
    from evalplat.analysis.bundle import ExportRefused, write_export
    from evalplat.analysis.outputs import write_analysis

    experiment = experiment_for_user(request, slug)
    outcome = _analysis_or_reason(experiment)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        if not isinstance(outcome, str):
            write_analysis(folder, *outcome)
        try:
            write_export(experiment.slug, folder, request.GET.get("distill", "best"))
        except ExportRefused:
            # No judgments yet: export the raw answers with the baseline variant's distillation set.
            write_export(experiment.slug, folder, "v1")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.iterdir()):
                archive.write(path, f"{experiment.slug}/{path.name}")
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{experiment.slug}-export.zip"'
    return response
