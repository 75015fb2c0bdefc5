"""manage.py demo: migrate, load the example experiment with illustrative answers, open rating.

Idempotent: running it again reuses what is there. Used by scripts/demo, which passes the
address it will serve on so that a taken port is reported before anything says "ready".
"""
import errno
import socket
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from evalplat.demo.answers import write_demo_answers
from evalplat.experiments.importing import import_design_file
from evalplat.experiments.models import Experiment
from evalplat.generation.importing import import_answers
from evalplat.rating.leaks import check_experiment
from evalplat.rating.models import Invite
from evalplat.rating.views import PROLIFIC_PARAMS

DESIGN = Path(settings.BASE_DIR) / "designs" / "examples" / "honesty-tone.toml"
CHOOSE_ANOTHER = "choose another with  scripts/demo PORT  (e.g. scripts/demo {port})  or  DEMO_ADDRESS={host}:{port} scripts/demo"


def parse_address(text):
    """(host, port) from PORT, HOST:PORT or [IPv6]:PORT, the forms runserver takes."""
    host, _, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]") or "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(f"address {text!r}: expected PORT or HOST:PORT, e.g. 8001 or 127.0.0.1:8001")
    return host, int(port)


def check_free(host, port):
    """Raise CommandError naming the port when nothing could listen on host:port now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As runserver does: a port whose last connection is still in TIME_WAIT is free to listen on.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            another = CHOOSE_ANOTHER.format(host=host, port=port + 1 if port < 65535 else 8001)
            if error.errno == errno.EADDRINUSE:
                raise CommandError(f"port {port} on {host} is taken (another program is listening there): "
                                   f"{another}") from None
            raise CommandError(f"cannot listen on {host}:{port} ({error.strerror}): {another}") from None


class Command(BaseCommand):
    help = "Set up the demo: a console login, the honesty-tone experiment with illustrative answers, a study link."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo",
                            help="password of the demo console user (a local demo only: change it anywhere else)")
        parser.add_argument("--address", help="PORT or HOST:PORT the demo will be served on: checked to be free "
                                              "before anything is set up")

    def handle(self, *args, **options):
        if options["address"]:
            check_free(*parse_address(options["address"]))
        call_command("migrate", interactive=False, verbosity=0)
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
        self.print_ready(invite, options["username"], options["password"])

    def print_ready(self, invite, username, password):
        site = settings.SITE_URL.rstrip("/")
        link = f"{site}/r/{invite.token}/"
        # Prolific replaces each {{%NAME%}} in a study URL with that participant's, study's and session's id.
        prolific = link + "?" + "&".join(f"{name}={{{{%{name}%}}}}" for name in PROLIFIC_PARAMS)
        self.stdout.write(self.style.SUCCESS("\nevalplat demo is ready."))
        self.stdout.write(f"  Console:     {site}/console/   (log in as {username} / {password})\n"
                          f"  Rater link:  {link}\n"
                          "               every new browser (or private window) that opens it is a new rater;\n"
                          "               the same browser carries on where it left off.\n"
                          f"  Prolific:    {prolific}\n"
                          "               the form to give Prolific as the study URL: Prolific fills in each\n"
                          "               {{%...%}} with the participant's, study's and session's id, so one\n"
                          "               participant is one rater (their id in a second browser is refused).\n"
                          f"               Raters who finish see the completion code {invite.completion_code}.\n"
                          f"  Admin:       {site}/admin/\n")

    def console_user(self, username, password):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_superuser(username, f"{username}@example.com", password)
            self.stdout.write(f"Created console user {username!r}.")
        return user
