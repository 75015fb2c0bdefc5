"""Planning: the answer rows an experiment needs, and the chunks of work that fill them in.

A job is started where the experimenter asks for it (a fresh `manage.py generate` process, a
console request), and planned by a worker. Starting (start_job) only checks that there is work,
counts it, creates the job ("planning") and queues one planning task, so a console request or a
command returns without composing and inserting every row of a large job. The worker plans it
(plan_job) inside one transaction: missing rows are created "pending" and every answer not yet
done is attached to the job. Once that commits, it queues the chunks after the first for any
worker and runs the first itself, in the same task (hand_out), so no worker looks for rows before
they exist and the first chunk saves a round trip through the broker.

A job no worker will ever receive is worse than no job: the experiment would sit in "generating"
with nothing happening. So the broker is reached (with a short timeout) *inside* the starting
transaction, and when it cannot be, the transaction rolls back and nothing was written. Should
the broker vanish in the moment between that check and the publish after commit, a job no worker
has started is cancelled with the reason recorded, which also sends the experiment back to draft.
A worker that cannot queue the later chunks (the broker went away while it planned) runs them
itself.
"""
import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from kombu.utils.url import maybe_sanitize_url

from designs.spec import GenerationSettings
from evalplat.celery import app as celery_app
from evalplat.experiments.models import Experiment
from evalplat.generation.models import Answer, GenerationJob, planned_answer_count

logger = logging.getLogger(__name__)

# Seconds to reach the broker before giving up, and quick retries when publishing: the console's
# "Generate" waits on this, so a broker that is down must be reported in seconds, not minutes.
BROKER_CONNECT_TIMEOUT = 2.0
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
# Backends whose chunks may run in the web process when tasks run eagerly (no broker, the demo):
# vLLM needs a GPU worker and is never imported by the web app.
EAGER_BACKENDS = ("openai",)
WORKER_BACKENDS = ("vllm", "openai")


class PlanningError(Exception):
    """The job cannot start; the message says why, and nothing was written."""


def runs_eagerly():
    """Whether queued tasks run in the calling process (CELERY_TASK_ALWAYS_EAGER) instead of a worker."""
    return bool(celery_app.conf.task_always_eager)


def available_backends():
    """The backends the console can start a job with in this deployment.

    Replay is left out: it reads a file on the worker's disk, and the console imports uploaded
    answers directly instead.
    """
    return EAGER_BACKENDS if runs_eagerly() else WORKER_BACKENDS


def check_backend_available(backend):
    """Refuse, before planning anything, a backend this deployment's console cannot run."""
    if backend in available_backends():
        return
    if backend == "vllm" and runs_eagerly():
        raise PlanningError(
            "backend vllm: this deployment runs tasks inside the web process (CELERY_TASK_ALWAYS_EAGER=1, "
            "as the demo does), which never loads vLLM. Start Redis and a GPU worker "
            "(CELERY_BROKER_URL=redis://… python manage.py worker, from .venv-vllm), and run the web app "
            f"with CELERY_TASK_ALWAYS_EAGER off; or choose one of: {', '.join(available_backends())}")
    raise PlanningError(f"backend: choose one of {', '.join(available_backends())}")


def broker_connection():
    """A connection to the broker in settings.CELERY_BROKER_URL that gives up quickly."""
    return celery_app.connection_for_write(
        settings.CELERY_BROKER_URL, connect_timeout=BROKER_CONNECT_TIMEOUT,
        transport_options={"socket_connect_timeout": BROKER_CONNECT_TIMEOUT,
                           "socket_timeout": BROKER_CONNECT_TIMEOUT})


def broker_problem(exc):
    # The URL as a page may show it: without its password.
    return (f"the task broker at {maybe_sanitize_url(settings.CELERY_BROKER_URL)} cannot be reached: {exc}; "
            "start Redis or set CELERY_BROKER_URL to where it runs")


def check_broker():
    """Raise PlanningError unless the broker answers now (a no-op when tasks run eagerly)."""
    if runs_eagerly():
        return
    try:
        with broker_connection() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_CONNECT_TIMEOUT)
    except (BrokerError, OSError) as exc:
        raise PlanningError(f"{broker_problem(exc)}. Nothing was queued.") from None


@dataclass(frozen=True)
class PlannedAnswer:
    variant: object
    query: object
    sample: int
    messages: list
    settings: GenerationSettings

    @property
    def key(self):
        return (self.variant.code, self.query.key, self.sample)


def answer_seed(base_seed, query_key, sample):
    """The sampling seed of one answer: fixed by the design's seed, the query and the sample.

    It is the same for every variant, so variants are compared under common random numbers:
    differences between their answers come from the prompt, not from a luckier draw.
    """
    digest = hashlib.sha256(f"{base_seed}\0{query_key}\0{sample}".encode()).digest()
    return int.from_bytes(digest[:4], "big") >> 1  # 31 bits: every engine and API accepts it


def planned_answers(experiment):
    """Every (variant, query, sample) the experiment needs, with its prompt, in run order."""
    factors = experiment.design_factors()
    queries = list(experiment.queries.all())
    samples = experiment.generation_settings.samples
    for variant in experiment.variants.prefetch_related("levels__factor"):
        levels = variant.level_names()
        for query in queries:
            prompt = experiment.prompt_for(variant, query, factors, levels)
            for sample in range(samples):
                yield PlannedAnswer(variant, query, sample, prompt.messages, prompt.settings)


def create_missing_answers(experiment, job=None):
    """Create the pending rows that do not exist yet, attached to `job` if given; returns how
    many were created."""
    existing = set(experiment.answers.values_list("variant_id", "query_id", "sample"))
    base_seed = experiment.generation_settings.seed
    rows = [
        Answer(experiment=experiment, variant=p.variant, query=p.query, sample=p.sample, job=job,
               messages=p.messages, settings=p.settings.as_dict(), model=p.settings.model,
               seed=answer_seed(base_seed, p.query.key, p.sample))
        for p in planned_answers(experiment)
        if (p.variant.id, p.query.id, p.sample) not in existing
    ]
    Answer.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def answers_to_generate(experiment, only_failed=False):
    """How many answers a new job would take: those that failed, or every planned answer not done
    and not held by a live claim (a cancelled job's chunk still in an engine). Counted, not
    planned: the worker plans the rows (plan_job) and records the exact number."""
    answers = experiment.answers
    if only_failed:
        return answers.filter(status=Answer.Status.FAILED).count()
    taken = answers.filter(Q(status=Answer.Status.DONE)
                           | Q(status=Answer.Status.RUNNING, lease_until__gte=timezone.now())).count()
    return planned_answer_count(experiment) - taken


def start_job(experiment, backend, options=None, *, only_failed=False):
    """Create a job for every answer of `experiment` not yet done and queue its planning.

    With `only_failed`, the job takes only the answers that failed after every attempt (the
    console's "Retry failed"); pending rows, say of a cancelled job, are left for a full run.
    """
    with transaction.atomic():
        # Serialises starters of one experiment: two `generate` runs cannot both start a job.
        experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
        if experiment.answers_frozen:
            raise PlanningError(f"{experiment.slug}: rating has started, so its answers can no longer change")
        active = experiment.generation_jobs.filter(state__in=GenerationJob.ACTIVE).first()
        if active is not None:
            raise PlanningError(
                f"job #{active.pk} for {experiment.slug} is still {active.state} "
                f"({active.done}/{active.total} done); resume it (--resume) or cancel it (--cancel) first")
        total = answers_to_generate(experiment, only_failed)
        if not total:
            raise PlanningError(f"no answer of {experiment.slug} has failed; nothing to retry" if only_failed
                                else f"every answer of {experiment.slug} is generated already")
        job = GenerationJob.objects.create(experiment=experiment, backend=backend, options=options or {},
                                           only_failed=only_failed, total=total)
        experiment.start_generation()
        queue_planning(job)
    return job


def queue_planning(job):
    """Queue the planning task of `job` when the transaction commits, after checking the broker
    now (a PlanningError rolls the transaction back). The planner's chunk size goes with it."""
    from evalplat.generation.tasks import plan_job as plan_task

    check_broker()
    transaction.on_commit(lambda: publish(job, plan_task, (job.pk, settings.GENERATION_CHUNK_SIZE)))


def plan_job(job_id, chunk_size):
    """In the worker: create and attach the rows of job `job_id`, if it is still planning.

    Returns its pending rows' ids in chunks, in run order; [] when there is nothing to do here (a
    copy of the task planned it already, or it was cancelled meanwhile).
    """
    with transaction.atomic():
        job = GenerationJob.objects.filter(pk=job_id, state=GenerationJob.State.PLANNING).first()
        if job is None:
            return []
        # The experiment's lock first, as start_job takes it: no other job can attach rows meanwhile.
        experiment = Experiment.objects.select_for_update().get(pk=job.experiment_id)
        if job.only_failed:
            total = attach(experiment.answers.filter(status=Answer.Status.FAILED), job)
        else:
            # Rows still "running" under a lease that ran out belong to a worker that died.
            total = attach(experiment.answers.filter(
                Q(status__in=(Answer.Status.PENDING, Answer.Status.FAILED))
                | Q(status=Answer.Status.RUNNING, lease_until__lt=timezone.now())), job)
            total += create_missing_answers(experiment, job)
        if not job.planned(total):  # cancelled since it was read: the rows go back untouched
            transaction.set_rollback(True)
            return []
        chunks = pending_chunks(job, chunk_size)
    if not chunks:
        job.refresh_counts()  # nothing was left to do after all (a claim still live at the start ended): finish it
    return chunks


def hand_out(job_id, chunks, queue=None):
    """Queue every chunk but the first for any worker (on `queue`: the one the planning task came
    from, so that the workers serving it get the job's chunks too); returns those this worker runs
    itself.

    The first is run by the worker that planned the job, without a round trip through the broker.
    Should the broker refuse a chunk, this worker runs it and every later one too: a job must not
    wait for chunks that were never queued. Where tasks run eagerly, every chunk runs here, in order.
    """
    from evalplat.generation.tasks import run_chunk

    if runs_eagerly():
        return chunks
    for index, ids in enumerate(chunks[1:], start=1):
        try:
            run_chunk.apply_async((job_id, ids), queue=queue)
        except (BrokerError, OSError) as exc:
            logger.warning("job %s: could not queue chunks %d-%d (%s); running them here", job_id, index + 1,
                           len(chunks), exc)
            return [chunks[0], *chunks[index:]]
    return chunks[:1]


def attach(answers, job):
    """Hand existing rows to `job` as fresh pending work; returns how many."""
    return answers.update(job=job, status=Answer.Status.PENDING, attempts=0, error="", claim_token=None,
                          lease_until=None)


def retry_failed(experiment):
    """A new job for the failed answers only, with the backend and options of the job that
    last ran (the one whose failures the console shows)."""
    last = experiment.generation_jobs.first()
    if last is None:
        raise PlanningError(f"{experiment.slug} has had no generation job; nothing to retry")
    check_backend_available(last.backend)
    return start_job(experiment, last.backend, last.options, only_failed=True)


def resume_job(job):
    """Queue again what `job` still needs: its planning, if no worker has planned it yet (the
    task was lost with a broker's queue), or else every pending row, after handing back the rows
    held by dead workers. Returns how many tasks were queued.

    Safe while tasks of the job are still queued or running: planning moves the job out of
    "planning" once, and a chunk only claims rows that are still pending, so whichever message
    comes first does the work and the other finds nothing.
    """
    with transaction.atomic():
        job.refresh_from_db(fields=["state"])
        if not job.is_active:
            raise PlanningError(f"job #{job.pk} is {job.state}; start a new one instead")
        if job.state == GenerationJob.State.PLANNING:
            queue_planning(job)
            return 1
        job.reclaim_expired()
        return enqueue_chunks(job)


def pending_chunks(job, size):
    """The job's pending rows in chunks of at most `size`, in run order, never mixing models."""
    rows = job.answers.filter(status=Answer.Status.PENDING).in_run_order().values_list("id", "model")
    return split_into_chunks(list(rows), size)


def enqueue_chunks(job):
    """Queue the job's pending rows in chunks (pending_chunks), from where the job is resumed.

    Call it inside a transaction: it checks the broker now (a PlanningError rolls the transaction
    back) and publishes each chunk when the transaction commits.
    """
    from evalplat.generation.tasks import run_chunk

    chunks = pending_chunks(job, settings.GENERATION_CHUNK_SIZE)
    check_broker()
    for ids in chunks:
        transaction.on_commit(lambda ids=ids: publish(job, run_chunk, (job.pk, ids)))
    return len(chunks)


def publish(job, task, args):
    """Send one task of `job` to the workers; PlanningError if the broker is gone.

    A job no chunk has started yet is then cancelled with the reason (tasks of it already sent
    find it cancelled and do nothing), so it cannot wait forever for work that never comes; a
    running job is left to its workers and can be resumed.
    """
    if runs_eagerly():
        task.delay(*args)
        return
    try:
        with broker_connection() as connection:
            task.apply_async(args, connection=connection, retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except (BrokerError, OSError) as exc:
        problem = broker_problem(exc)
        if job.cancel(if_not_started=True):
            job.record_errors([f"job not queued: {problem}"])
            raise PlanningError(f"{problem}. Job #{job.pk} was cancelled; generate again once it runs.") from None
        raise PlanningError(f"{problem}. Job #{job.pk} goes on with the chunks already queued; "
                            "resume it once the broker runs.") from None


def split_into_chunks(rows, size):
    """[(id, model)] in run order -> [[id, ...]] of at most `size`, a new chunk at each model change."""
    chunks, current, current_model = [], [], None
    for answer_id, model in rows:
        if current and (len(current) == size or model != current_model):
            chunks.append(current)
            current = []
        current.append(answer_id)
        current_model = model
    if current:
        chunks.append(current)
    return chunks
