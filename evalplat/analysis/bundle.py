"""The export bundle of an experiment in the database (Django glue, like data.py).

Shared by `manage.py export` and the console's download: answers.jsonl (every answer, raw),
distill.jsonl (context distillation for one variant), dpo.jsonl (preference pairs), variants.csv,
judgments.csv (as `analyze --judgments` reads them back) and manifest.json (which variant the
distillation set uses and why, and which judgments the preference pairs leave out).  It reads the
analysis it is given and never fits one itself.
"""
import io
import json
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .criteria import CriteriaAnalysis
from .criteria_outputs import write_outputs
from .data import answer_records, experiment_data
from .export import distillation_records, preference_pairs
from .result import CLICKER_FLAG
from .tables import write_judgments, write_variants


class ExportRefused(ValueError):
    pass


@dataclass(frozen=True)
class DistillChoice:
    variant: str
    reason: str


def jsonl(records):
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def distill_choice(variants, result, requested, slug, no_judgments="refuse"):
    """Which variant distill.jsonl uses.

    "best" is the analysis's recommended combination when it was run as a variant, else the
    best tested variant (the run with the highest estimated utility), and the reason says which.
    Without judgments "best" is refused, or (`no_judgments="baseline"`, the console) the
    baseline variant with a reason saying so.  Anything else must be a variant code.
    """
    if requested != "best":
        if requested not in variants.ids:
            raise ExportRefused(f"distill: {requested!r} is not a variant of {slug!r}; "
                                f"give one of {', '.join(variants.ids)} or 'best'")
        return DistillChoice(requested, f"{requested}, as asked")
    if result is None:
        if no_judgments == "refuse":
            raise ExportRefused(f"experiment {slug!r} has no judgments, so there is no best variant yet; "
                                "name one with --distill-variant")
        return DistillChoice(variants.ids[0], f"{variants.ids[0]}, the baseline variant: there are no judgments "
                                              "yet, so there is no best variant")
    best = result.best_combination
    levels = ", ".join(f"{factor} = {level}" for factor, level in best.levels.items())
    if best.variant:
        return DistillChoice(best.variant, f"{best.variant}, the recommended combination ({levels})")
    return DistillChoice(result.best_tested_variant,
                         f"{result.best_tested_variant}, the best tested variant: the recommended combination "
                         f"({levels}) was not run as a variant")


def set_aside_raters(result):
    """Per criterion ("" for a design's one question), the raters whose judgments the preference
    pairs leave out: excluded by the gold rule, or at least CLICKER_FLAG likely to be random clickers."""
    if result is None:
        return {}
    parts = [(part.criterion, part.result) for part in result.criteria] if isinstance(result, CriteriaAnalysis) \
        else [("", result)]
    return {name: frozenset(r.excluded_rater_names() | r.flagged_rater_names()) for name, r in parts}


def write_export(experiment, out, result=None, distill_variant="best", data=None, no_judgments="refuse"):
    """Write the bundle into `out`; returns (file names, the DistillChoice).

    `result` is the experiment's analysis (None without judgments); `data` its loaded
    `ExperimentData`, loaded here when not given.
    """
    data = data or experiment_data(experiment)
    # With criteria the distillation set follows the first criterion's best combination.
    primary = result.primary if isinstance(result, CriteriaAnalysis) else result
    choice = distill_choice(data.variants, primary, distill_variant, experiment.slug, no_judgments)
    answers = answer_records(experiment)
    by_id = {answer["id"]: answer for answer in answers}
    pairs, left_out = preference_pairs(data.rows, by_id, set_aside_raters(result))
    manifest = {
        "experiment": experiment.slug,
        "distill_variant": choice.variant, "distill_reason": choice.reason,
        "dpo_pairs": len(pairs), "dpo_left_out": left_out,
        "dpo_rule": (f"judgments of raters excluded by the gold rule or at least {CLICKER_FLAG:.0%} likely to be "
                     "random clickers, attention items, ties and 'both bad' judgments are left out"
                     + ("; a pair per criterion, each naming its criterion, and each criterion's analysis sets "
                        "its own raters aside" if data.judgments is not None and data.judgments.has_criteria else "")),
        "analysis_judgments": None if result is None else result.n_judgments,
    }
    texts = {
        "answers.jsonl": jsonl(answers),
        "distill.jsonl": jsonl(distillation_records(answers, choice.variant)),
        "dpo.jsonl": jsonl(pairs),
        "manifest.json": json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (out / name).write_text(text, encoding="utf-8")
    write_variants(out / "variants.csv", data.variants)
    names = sorted(texts) + ["variants.csv"]
    if data.judgments is not None:
        write_judgments(out / "judgments.csv", data.judgments, data.variants)
        names.append("judgments.csv")
    return names, choice


def export_archive(experiment, result, distill_variant="best"):
    """The console's zip: the analysis files (when there is a result) and the export bundle.

    Raises ExportRefused for a distillation variant that is not one of the experiment's.
    """
    data = experiment_data(experiment)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        write_export(experiment, folder, result, distill_variant, data=data, no_judgments="baseline")
        if result is not None:
            write_outputs(folder, data.variants, data.judgments, result)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.iterdir()):
                archive.write(path, f"{experiment.slug}/{path.name}")
    return buffer.getvalue()
