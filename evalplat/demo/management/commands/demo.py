"""manage.py demo: load the example experiment with illustrative answers and open rating.

Idempotent: running it again reuses what is there. Used by scripts/demo.
"""
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from evalplat.demo.answers import write_demo_answers
from evalplat.experiments.importing import import_design_file
from evalplat.experiments.models import Experiment
from evalplat.generation.importing import import_answers
from evalplat.rating.leaks import check_experiment
from evalplat.rating.models import Invite

DESIGN = Path(settings.BASE_DIR) / "designs" / "examples" / "honesty-tone.toml"


class Command(BaseCommand):
    help = "Set up the demo: a console login, the honesty-tone experiment with illustrative answers, a study link."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo",
                            help="password of the demo console user (a local demo only: change it anywhere else)")

    def handle(self, *args, **options):
        user = self.console_user(options["username"], options["password"])
        experiment = Experiment.objects.filter(slug="honesty-tone").first()
        if experiment is None:
            experiment = import_design_file(DESIGN, owner=user)
        if not experiment.answers.exists():
            path = Path(settings.BASE_DIR) / "var" / "demo-answers.jsonl"
            path.parent.mkdir(exist_ok=True)
            write_demo_answers(experiment, path)
            import_answers(experiment, path)
            flagged = check_experiment(experiment)
            self.stdout.write(f"Imported {experiment.answers.count()} illustrative answers "
                              f"(hand-written building blocks, not model output); leak check flagged {flagged}.")
        experiment.open_rating()  # a no-op when it is open already
        invite = experiment.invites.filter(kind=Invite.Kind.STUDY, revoked_at__isnull=True).first()
        if invite is None:
            invite = Invite.objects.create(experiment=experiment, kind=Invite.Kind.STUDY,
                                           label="Demo study link", created_by=user)
        site = settings.SITE_URL.rstrip("/")
        self.stdout.write(self.style.SUCCESS("\nevalplat demo is ready."))
        self.stdout.write(f"  Console:     {site}/console/   (log in as {options['username']} / {options['password']})")
        self.stdout.write(f"  Rater link:  {site}/r/{invite.token}/?PROLIFIC_PID=demo-participant")
        self.stdout.write(f"  Admin:       {site}/admin/\n")

    def console_user(self, username, password):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_superuser(username, f"{username}@example.com", password)
            self.stdout.write(f"Created console user {username!r}.")
        return user
