"""manage.py import_answers EXPERIMENT FILE.jsonl [--partial]"""
from django.core.management.base import BaseCommand, CommandError

from evalplat.experiments.models import Experiment
from evalplat.generation.backends.replay import ReplayError
from evalplat.generation.importing import import_answers


class Command(BaseCommand):
    help = ("Import answers made elsewhere from JSONL, one object per line: "
            '{"variant": "v1", "query": "ID", "sample": 0, "text": "..."}. Nothing is written if any line is wrong.')

    def add_arguments(self, parser):
        parser.add_argument("experiment", help="the experiment's name (slug)")
        parser.add_argument("file", help="the JSONL file")
        parser.add_argument("--partial", action="store_true",
                            help="allow the file to cover only some of the answers still missing")

    def handle(self, *args, **options):
        experiment = Experiment.objects.filter(slug=options["experiment"]).first()
        if experiment is None:
            raise CommandError(f"no experiment named {options['experiment']!r}")
        try:
            count = import_answers(experiment, options["file"], partial=options["partial"])
        except ReplayError as exc:
            raise CommandError(f"{len(exc.problems)} problem(s) in {options['file']}; nothing imported:\n{exc}") from None
        self.stdout.write(f"Imported {count} answers into {experiment.slug}.")
