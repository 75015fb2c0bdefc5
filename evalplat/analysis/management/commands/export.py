"""manage.py export EXPERIMENT --out DIR [--distill-variant vN|best]: training data and raw data.

Writes answers.jsonl (every answer), judgments.csv and variants.csv (as `analyze` reads them),
distill.jsonl (context distillation for the chosen variant) and dpo.jsonl (preference pairs).
"""
from django.core.management.base import BaseCommand, CommandError

from evalplat.analysis.bundle import ExportRefused, write_export
from evalplat.experiments.models import Experiment


class Command(BaseCommand):
    help = "Export an experiment's answers and judgments, a context-distillation set and preference pairs."

    def add_arguments(self, parser):
        parser.add_argument("experiment", help="experiment slug")
        parser.add_argument("--out", required=True, help="directory to write the files to")
        parser.add_argument("--distill-variant", default="best",
                            help="variant code (v1, v2, ...) for distill.jsonl, or 'best' (default): the run "
                                 "with the highest estimated utility")

    def handle(self, *args, **options):
        try:
            names, choice = write_export(options["experiment"], options["out"], options["distill_variant"])
        except Experiment.DoesNotExist:
            raise CommandError(f"no experiment named {options['experiment']!r}") from None
        except ExportRefused as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"wrote {', '.join(names)} to {options['out']} (distillation variant {choice})")
