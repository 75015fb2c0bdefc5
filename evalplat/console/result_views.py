"""The console's results: the effect report of the judgments so far, inside the console, and every
download (the export zip and each file in it).

Everything reads `snapshots.analysis_for`, so nothing fits when the judgments have not changed.
The analysis (scipy, pandas: seconds to import) is imported inside the views, not at module
level: the URL configuration imports this module, and a fresh web worker must serve its first
rater page without loading the statistics stack (tests/project/test_imports.py).
"""
import io
import zipfile
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render

from evalplat.console.counts import ATTENTION_RULE, study_counts
from evalplat.experiments.access import experiment_for_user


@dataclass(frozen=True)
class ExportFile:
    name: str
    what: str
    needs_judgments: bool       # written only once there are judgments (the analysis, judgments.csv)
    content_type: str


# What the export zip holds (evalplat.analysis.bundle.export_archive), in the order the page lists it.
EXPORT_FILES = (
    ExportFile("report.html", "this report as one self-contained page", True, "text/html; charset=utf-8"),
    ExportFile("effects.json", "every effect with its standard errors and interval", True, "application/json"),
    ExportFile("effects.csv", "the effects table", True, "text/csv; charset=utf-8"),
    ExportFile("judgments.csv", "every judgment, as analyze --judgments reads it", True, "text/csv; charset=utf-8"),
    ExportFile("variants.csv", "each variant's levels", False, "text/csv; charset=utf-8"),
    ExportFile("answers.jsonl", "every answer, raw, with its prompt and settings", False,
               "application/x-ndjson; charset=utf-8"),
    ExportFile("distill.jsonl", "context-distillation set for one variant", False,
               "application/x-ndjson; charset=utf-8"),
    ExportFile("dpo.jsonl", "preference pairs from decided judgments", False, "application/x-ndjson; charset=utf-8"),
    ExportFile("manifest.json", "which variant distill.jsonl uses and why; what the pairs leave out", False,
               "application/json"),
)


def _analysis(experiment):
    """(the AnalysisResult or None, why there is none or '')."""
    from evalplat.analysis.snapshots import NoAnalysis, analysis_for

    outcome = analysis_for(experiment)
    return (None, outcome.reason) if isinstance(outcome, NoAnalysis) else (outcome, "")


def _is_criteria(result):
    from evalplat.analysis.criteria import CriteriaAnalysis

    return isinstance(result, CriteriaAnalysis)


def _downloads(result):
    """What the export holds for this analysis: EXPORT_FILES (those that need judgments only with a
    result), and with criteria each criterion's whole report beside the criteria's page."""
    files = [f for f in EXPORT_FILES if result is not None or not f.needs_judgments]
    if _is_criteria(result):
        from evalplat.analysis.criteria_outputs import report_name

        files += [ExportFile(report_name(i, part.criterion), f"every section of the report for {part.criterion}",
                             True, "text/html; charset=utf-8") for i, part in enumerate(result.criteria)]
    return files


@login_required
def report(request, slug):
    """The report as `manage.py analyze` writes it, in the console layout, with the downloads. With
    criteria: their page, and `?criterion=N` (1 for the first) that criterion's whole report."""
    from evalplat.analysis.criteria_outputs import criteria_context
    from evalplat.analysis.report import report_context

    experiment = experiment_for_user(request, slug)
    result, reason = _analysis(experiment)
    shown, page, links, chosen = result, {}, [], request.GET.get("criterion", "")
    if _is_criteria(result):
        links = [(str(i + 1), name) for i, name in enumerate(result.names)]
        if chosen in {number for number, _ in links}:
            shown = result.criteria[int(chosen) - 1].result
        else:
            shown, chosen = None, ""
            page = criteria_context(result, link=lambda index, name: f"?criterion={index + 1}")
    return render(request, "console/report.html", {
        **(report_context(shown) if shown is not None else {}), **page,
        "experiment": experiment, "section": "results", "reason": reason, "result": result, "shown": shown,
        "criterion_links": links, "chosen": chosen, "study": study_counts(experiment),
        "attention_rule": ATTENTION_RULE, "downloads": _downloads(result),
        "variant_codes": experiment.variants.values_list("code", flat=True),
        **_student_verdicts(experiment, result),
    })


def _student_verdicts(experiment, result):
    """For a distillation check with judgments: the non-inferiority statement per criterion."""
    from evalplat.analysis.noninferiority import DEFAULT_MARGIN
    from evalplat.distill.checks import is_distillation_check, verdicts

    if result is None or not is_distillation_check(experiment):
        return {}
    return {"student_verdicts": verdicts(result, DEFAULT_MARGIN), "margin": DEFAULT_MARGIN}


def _archive(request, experiment):
    """The export zip's bytes; raises ExportRefused for an unknown ?distill= variant."""
    from evalplat.analysis.bundle import export_archive

    result, _ = _analysis(experiment)
    return export_archive(experiment, result, request.GET.get("distill", "best"))


def _attachment(content, content_type, filename):
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def export(request, slug):
    """A zip of the analysis (effects.json/csv, report.html, CSVs) and the export bundle."""
    from evalplat.analysis.bundle import ExportRefused

    experiment = experiment_for_user(request, slug)
    try:
        archive = _archive(request, experiment)
    except ExportRefused as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    return _attachment(archive, "application/zip", f"{experiment.slug}-export.zip")


@login_required
def export_file(request, slug, name):
    """One file of the export zip, exactly as the zip holds it."""
    from evalplat.analysis.bundle import ExportRefused

    experiment = experiment_for_user(request, slug)
    known = {f.name: f for f in EXPORT_FILES}
    known.update({f.name: f for f in _downloads(_analysis(experiment)[0])})
    if name not in known:
        raise Http404("No such file in the export.")
    try:
        archive = _archive(request, experiment)
    except ExportRefused as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
        member = f"{experiment.slug}/{name}"
        if member not in bundle.namelist():
            raise Http404(f"{name} is written once there are judgments.")
        content = bundle.read(member)
    return _attachment(content, known[name].content_type, f"{experiment.slug}-{name}")
