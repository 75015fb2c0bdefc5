"""manage.py noninferiority CHECK [--margin 0.2] [--alpha 0.05]: is the distilled student as good as its teacher?

Reads the judgments of a distillation check (`distill_check`) and states, with the margin, whether
the student (no prompt) is non-inferior to the teacher (the base model with the winning prompt).
"""
from django.core.management.base import BaseCommand, CommandError

from evalplat.analysis.noninferiority import DEFAULT_ALPHA, DEFAULT_MARGIN
from evalplat.distill.checks import student_against_teacher
from evalplat.experiments.models import Experiment


class Command(BaseCommand):
    help = "State whether a distillation check's student is non-inferior to its teacher, with a margin."

    def add_arguments(self, parser):
        parser.add_argument("experiment", help="the distillation check's slug")
        parser.add_argument("--margin", type=float, default=DEFAULT_MARGIN,
                            help=f"log-odds the student may lose by and still count as as good (default {DEFAULT_MARGIN})")
        parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help="one-sided level (default 0.05)")

    def handle(self, *args, **options):
        experiment = Experiment.objects.filter(slug=options["experiment"]).first()
        if experiment is None:
            raise CommandError(f"no experiment named {options['experiment']!r}")
        try:
            verdicts = student_against_teacher(experiment, options["margin"], options["alpha"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        for row in verdicts:
            self.stdout.write(f"{row.criterion}: {row.verdict.statement}" if row.criterion else row.verdict.statement)
