"""manage.py export EXPERIMENT --out DIR [--distill-variant vN|best]: training data and raw data.

Writes answers.jsonl (every answer), judgments.csv and variants.csv (as `analyze` reads them),
distill.jsonl (context distillation for the chosen variant) and dpo.jsonl (preference pairs).
"""
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from evalplat.analysis.export import best_variant, distillation_records, preference_pairs
from evalplat.analysis.tables import write_judgments, write_variants


def jsonl(records):
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


class Command(BaseCommand):
    help = "Export an experiment's answers and judgments, a context-distillation set and preference pairs."

    def add_arguments(self, parser):
        parser.add_argument("experiment", help="experiment slug")
        parser.add_argument("--out", required=True, help="directory to write the files to")
        parser.add_argument("--distill-variant", default="best",
                            help="variant code (v1, v2, ...) for distill.jsonl, or 'best' (default): the run "
                                 "with the highest estimated utility")

    def handle(self, *args, **options):
        from evalplat.analysis.data import answer_records, load_experiment
        from evalplat.experiments.models import Experiment

        slug = options["experiment"]
        try:
            variants, judgments, rows, _ = load_experiment(slug, require_judgments=False)
        except Experiment.DoesNotExist:
            raise CommandError(f"no experiment named {slug!r}") from None
        choice = options["distill_variant"]
        if choice == "best":
            if judgments is None:
                raise CommandError(f"experiment {slug!r} has no judgments, so there is no best variant yet; "
                                   "name one with --distill-variant")
            choice = best_variant(variants, judgments)
        elif choice not in variants.ids:
            raise CommandError(f"--distill-variant {choice!r} is not a variant of {slug!r} "
                               f"({', '.join(variants.ids)})")
        answers = answer_records(Experiment.objects.get(slug=slug))
        by_id = {answer["id"]: answer for answer in answers}
        out = Path(options["out"])
        texts = {
            "answers.jsonl": jsonl(answers),
            "distill.jsonl": jsonl(distillation_records(answers, choice)),
            "dpo.jsonl": jsonl(preference_pairs(rows, by_id)),
        }
        out.mkdir(parents=True, exist_ok=True)
        for name, text in texts.items():
            (out / name).write_text(text, encoding="utf-8")
        write_variants(out / "variants.csv", variants)
        if judgments is not None:
            write_judgments(out / "judgments.csv", judgments, variants)
        self.stdout.write(f"wrote {', '.join(sorted(texts))}, variants.csv"
                          f"{', judgments.csv' if judgments is not None else ''} to {out} "
                          f"(distillation variant {choice})")
