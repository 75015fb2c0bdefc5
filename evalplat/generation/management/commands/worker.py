"""manage.py worker [--queue gpu] [CELERY WORKER OPTIONS...]: the GPU worker, with the options it needs.

It runs (replacing this process, so signals such as SIGTERM for a warm shutdown reach celery):
    celery -A evalplat worker -Q gpu --pool=solo --concurrency=1 --prefetch-multiplier=1 [OPTIONS...]
"""
import argparse
import os
import sys

from django.core.management.base import BaseCommand

# --pool=solo: vLLM starts child processes, which prefork's daemonic children may not.
# --concurrency=1 --prefetch-multiplier=1: one chunk at a time, none held back from other workers.
WORKER_OPTIONS = ["--pool=solo", "--concurrency=1", "--prefetch-multiplier=1"]


def celery_argv(queue, extra):
    return [sys.executable, "-m", "celery", "-A", "evalplat", "worker", "-Q", queue, *WORKER_OPTIONS, *extra]


class Command(BaseCommand):
    help = ("Run the Celery worker that generates answers: celery -A evalplat worker -Q gpu "
            + " ".join(WORKER_OPTIONS) + ". Other options go to celery (e.g. --loglevel=INFO -n gpu1@%%h).")

    def run_from_argv(self, argv):
        # Django's parser would reject celery's options, so take ours and pass the rest through.
        parser = argparse.ArgumentParser(prog="manage.py worker", add_help=False)
        parser.add_argument("--queue", default="gpu")
        ours, extra = parser.parse_known_args(argv[2:])
        os.execv(sys.executable, celery_argv(ours.queue, extra))
