"""manage.py confirm EXPERIMENT [--queries held-out|FILE.jsonl] [--out DIR] [--name NAME] [--owner USER]

Creates the confirmation run: an ordinary experiment whose one factor's arms are the all-baseline
variant, the recommended combination and the best tested variant, on queries the original never
rated. Writes its design folder (review and commit it) and prints the judgments it needs.
"""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from evalplat.distill.followups import FollowUpRefused, create_confirmation
from evalplat.experiments.models import Experiment


def follow_up_arguments(parser):
    parser.add_argument("experiment", help="the original experiment's slug")
    parser.add_argument("--queries", default="held-out",
                        help="'held-out' (default): the design's held_out = true queries; or a JSONL file of new ones")
    parser.add_argument("--out", help="folder for the follow-up's design (default var/followups/NAME)")
    parser.add_argument("--name", help="the follow-up's name (default EXPERIMENT-confirm / EXPERIMENT-distill-check)")
    parser.add_argument("--owner", help="username that owns it (default: the original's owner)")
    parser.add_argument("--replace", action="store_true", help="replace a follow-up of that name without answers")


def follow_up_context(options):
    experiment = Experiment.objects.filter(slug=options["experiment"]).first()
    if experiment is None:
        raise CommandError(f"no experiment named {options['experiment']!r}")
    owner = experiment.owner
    if options["owner"]:
        owner = get_user_model().objects.filter(username=options["owner"]).first()
        if owner is None:
            raise CommandError(f"--owner: no user named {options['owner']!r}")
    queries = None if options["queries"] == "held-out" else options["queries"]
    return experiment, {"owner": owner, "queries_file": queries, "out": options["out"], "name": options["name"],
                        "replace": options["replace"]}


def print_follow_up(stdout, follow_up, what):
    created = follow_up.experiment
    stdout.write(f"Created {what} {created.slug}: {created.variants.count()} arms x {follow_up.queries} queries "
                 f"({created.array_name})")
    for arm, note in follow_up.arms:
        stdout.write(f"  {arm:<16} {note}")
    stdout.write(f"Design: {follow_up.design_path} (review it and keep it with the original's)")
    stdout.write(f"Judgments needed for a 95% interval of +/-0.25 log-odds on each arm's effect: "
                 f"about {follow_up.judgments_needed}")
    if follow_up.predicted is not None:
        best = follow_up.predicted
        stdout.write(f"The original predicts predicted_best vs the all-baseline variant at {best.log_odds:+.2f} log-odds "
                     f"(SE {best.std_error:.2f}); corrected for having picked the best: {best.corrected_log_odds:+.2f} "
                     f"(shrinkage: {best.shrunken_log_odds:+.2f}). The confirmation's arm=predicted_best effect tests it.")
    stdout.write(f"Next: manage.py generate {created.slug}, then open rating as for any experiment.")


class Command(BaseCommand):
    help = "Create the confirmation run of an experiment's recommended combination, as an ordinary experiment."

    def add_arguments(self, parser):
        follow_up_arguments(parser)

    def handle(self, *args, **options):
        experiment, context = follow_up_context(options)
        try:
            follow_up = create_confirmation(experiment, **context)
        except FollowUpRefused as exc:
            raise CommandError(str(exc)) from None
        print_follow_up(self.stdout, follow_up, "the confirmation run")
