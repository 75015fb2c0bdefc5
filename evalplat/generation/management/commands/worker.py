"""manage.py worker [CELERY OPTIONS...]: the GPU worker, with the options it needs."""
import os
import sys

from django.core.management.base import BaseCommand

# --pool=solo: vLLM starts child processes, which prefork's daemonic children may not.
# --concurrency=1 --prefetch-multiplier=1: one chunk at a time, none held back from other workers.
WORKER_ARGS = ["-A", "evalplat", "worker", "-Q", "gpu", "--pool=solo", "--concurrency=1",
               "--prefetch-multiplier=1"]


class Command(BaseCommand):
    help = ("Run the Celery worker for the gpu queue: celery " + " ".join(WORKER_ARGS)
            + ". Extra arguments go to celery (e.g. --loglevel=INFO -n gpu1@%%h).")

    def add_arguments(self, parser):
        parser.add_argument("celery_args", nargs="*", help="more celery worker options")

    def run_from_argv(self, argv):
        # Pass everything after `worker` through untouched, options included.
        self.execute_celery(argv[2:])

    def handle(self, *args, **options):
        self.execute_celery(options["celery_args"])

    def execute_celery(self, extra):
        # exec, not a child process: signals (SIGTERM for a warm shutdown) reach celery itself.
        os.execv(sys.executable, [sys.executable, "-m", "celery", *WORKER_ARGS, *extra])
