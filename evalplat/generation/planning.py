"""Planning: the answer rows an experiment needs, and the chunks of work that fill them in.

A job is planned inside one transaction: missing rows are created "pending", every answer not yet
done is attached to the new job, and chunk tasks are queued with delay_on_commit so that no worker
looks for rows before they exist.
"""
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from designs.spec import GenerationSettings
from evalplat.experiments.models import Experiment
from evalplat.generation.models import Answer, GenerationJob


class PlanningError(Exception):
    """The job cannot start; the message says why, and nothing was written."""


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
        for query in queries:
            prompt = experiment.prompt_for(variant, query, factors)
            for sample in range(samples):
                yield PlannedAnswer(variant, query, sample, prompt.messages, prompt.settings)


def create_missing_answers(experiment):
    """Create the pending rows that do not exist yet; returns how many were created."""
    existing = set(experiment.answers.values_list("variant_id", "query_id", "sample"))
    base_seed = experiment.generation_settings.seed
    rows = [
        Answer(experiment=experiment, variant=p.variant, query=p.query, sample=p.sample,
               messages=p.messages, settings=p.settings.as_dict(), model=p.settings.model,
               seed=answer_seed(base_seed, p.query.key, p.sample))
        for p in planned_answers(experiment)
        if (p.variant.id, p.query.id, p.sample) not in existing
    ]
    Answer.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def start_job(experiment, backend, options=None):
    """Plan a job for every answer of `experiment` not yet done and queue its chunks."""
    with transaction.atomic():
        # Serialises planners of one experiment: two `generate` runs cannot both attach rows.
        experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
        if experiment.answers_frozen:
            raise PlanningError(f"{experiment.slug}: rating has started, so its answers can no longer change")
        active = experiment.generation_jobs.filter(state__in=GenerationJob.ACTIVE).first()
        if active is not None:
            raise PlanningError(
                f"job #{active.pk} for {experiment.slug} is still {active.state} "
                f"({active.done}/{active.total} done); resume it (--resume) or cancel it (--cancel) first")
        create_missing_answers(experiment)
        # Rows still "running" under a lease that ran out belong to a worker that died.
        todo = experiment.answers.filter(
            Q(status__in=(Answer.Status.PENDING, Answer.Status.FAILED))
            | Q(status=Answer.Status.RUNNING, lease_until__lt=timezone.now()))
        if not todo.exists():
            raise PlanningError(f"every answer of {experiment.slug} is generated already")
        job = GenerationJob.objects.create(experiment=experiment, backend=backend, options=options or {})
        job.total = todo.update(job=job, status=Answer.Status.PENDING, attempts=0, error="",
                                claim_token=None, lease_until=None)
        job.save(update_fields=["total"])
        experiment.start_generation()
        enqueue_chunks(job)
    return job


def resume_job(job):
    """Hand back rows held by dead workers and queue every pending row of `job` again.

    Safe while chunks of the job are still queued or running: a chunk only claims rows that are
    still pending, so whichever message comes first does the work and the other finds nothing.
    """
    with transaction.atomic():
        if not job.is_active:
            raise PlanningError(f"job #{job.pk} is {job.state}; start a new one instead")
        job.reclaim_expired()
        return enqueue_chunks(job)


def enqueue_chunks(job):
    """Queue the job's pending rows in chunks, in run order, never mixing models in a chunk."""
    from evalplat.generation.tasks import run_chunk

    rows = job.answers.filter(status=Answer.Status.PENDING).in_run_order().values_list("id", "model")
    chunks = split_into_chunks(list(rows), settings.GENERATION_CHUNK_SIZE)
    for ids in chunks:
        run_chunk.delay_on_commit(job.pk, ids)
    return len(chunks)


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
