"""The export bundle of an experiment in the database (Django glue, like data.py).

Shared by `manage.py export` and the console's download: answers.jsonl (every
answer, raw), distill.jsonl (context distillation for one variant), dpo.jsonl
(preference pairs), variants.csv and judgments.csv.
"""
import json
from pathlib import Path

from evalplat.experiments.models import Experiment

from .data import answer_records, load_experiment
from .export import best_variant, distillation_records, preference_pairs
from .tables import write_judgments, write_variants


class ExportRefused(ValueError):
    pass


def jsonl(records):
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def write_export(slug, out, distill_variant="best"):
    """Write the bundle into `out`; returns (file names, the distillation variant's code)."""
    variants, judgments, rows, _ = load_experiment(slug, require_judgments=False)
    choice = distill_variant
    if choice == "best":
        if judgments is None:
            raise ExportRefused(f"experiment {slug!r} has no judgments, so there is no best variant yet; "
                                "name one with --distill-variant")
        choice = best_variant(variants, judgments)
    elif choice not in variants.ids:
        raise ExportRefused(f"--distill-variant {choice!r} is not a variant of {slug!r} ({', '.join(variants.ids)})")
    answers = answer_records(Experiment.objects.get(slug=slug))
    by_id = {answer["id"]: answer for answer in answers}
    texts = {
        "answers.jsonl": jsonl(answers),
        "distill.jsonl": jsonl(distillation_records(answers, choice)),
        "dpo.jsonl": jsonl(preference_pairs(rows, by_id)),
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (out / name).write_text(text, encoding="utf-8")
    write_variants(out / "variants.csv", variants)
    names = sorted(texts) + ["variants.csv"]
    if judgments is not None:
        write_judgments(out / "judgments.csv", judgments, variants)
        names.append("judgments.csv")
    return names, choice
