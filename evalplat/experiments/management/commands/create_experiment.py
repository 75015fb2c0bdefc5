"""manage.py create_experiment DESIGN.toml [--replace] [--owner USERNAME]"""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from evalplat.experiments.importing import ImportRefused, import_design_file


class Command(BaseCommand):
    help = "Create an experiment from a design file (its variants are fixed from then on)."

    def add_arguments(self, parser):
        parser.add_argument("design", help="path to a design file (TOML)")
        parser.add_argument("--replace", action="store_true",
                            help="overwrite an experiment of the same name that has no answers or judgments yet")
        parser.add_argument("--owner", metavar="USERNAME", help="the user who sees it in the console")

    def handle(self, *args, **options):
        owner = None
        if options["owner"]:
            try:
                owner = get_user_model().objects.get(username=options["owner"])
            except get_user_model().DoesNotExist:
                raise CommandError(f"--owner: no user named {options['owner']!r}") from None
        try:
            experiment = import_design_file(options["design"], owner=owner, replace=options["replace"])
        except ImportRefused as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Created {experiment.slug}: {experiment.variants.count()} variants "
                          f"({experiment.array_name}), {experiment.queries.count()} queries")
