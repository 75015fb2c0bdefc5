"""manage.py export EXPERIMENT --out DIR [--distill-variant vN|best]: training data and raw data.

Writes answers.jsonl (every answer), judgments.csv and variants.csv (as `analyze` reads them),
distill.jsonl (context distillation for the chosen variant), dpo.jsonl (preference pairs) and
manifest.json (which variant and why; which judgments the pairs leave out).
"""
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Export an experiment's answers and judgments, a context-distillation set and preference pairs."

    def add_arguments(self, parser):
        parser.add_argument("experiment", help="experiment slug")
        parser.add_argument("--out", required=True, help="directory to write the files to")
        parser.add_argument("--distill-variant", default="best",
                            help="variant code (v1, v2, ...) for distill.jsonl, or 'best' (default): the "
                                 "recommended combination when it was run, else the best tested variant")

    def handle(self, *args, **options):
        from evalplat.analysis.bundle import ExportRefused, write_export
        from evalplat.analysis.snapshots import NoAnalysis, analysis_for
        from evalplat.experiments.models import Experiment

        try:
            experiment = Experiment.objects.get(slug=options["experiment"])
        except Experiment.DoesNotExist:
            raise CommandError(f"no experiment named {options['experiment']!r}") from None
        outcome = analysis_for(experiment)
        try:
            names, choice = write_export(experiment, options["out"], None if isinstance(outcome, NoAnalysis) else outcome,
                                         options["distill_variant"])
        except ExportRefused as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"wrote {', '.join(names)} to {options['out']} (distillation variant {choice.reason})")
