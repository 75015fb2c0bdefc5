"""Running one chunk: claim the rows still pending, generate, write back while the claim holds.

The claim is a conditional UPDATE (pending -> running, with a fresh claim token and a lease), so
a chunk that is delivered twice, or queued again by a resume, finds nothing left to take. While
the engine works, a thread keeps renewing the lease; a worker that is killed stops renewing it,
and once it runs out the rows can be handed to another worker. Results are written only to rows
that still carry this chunk's token, so a worker that was presumed dead cannot overwrite them.
"""
import logging
import threading
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from evalplat.generation import logprobs
from evalplat.generation.backends import backend_for
from evalplat.generation.backends.base import GenerationResult
from evalplat.generation.conf import GenerationSettings
from evalplat.generation.models import Answer, GenerationJob

logger = logging.getLogger(__name__)


@dataclass
class ChunkOutcome:
    done: int = 0
    failed: int = 0
    lost: int = 0  # results not written because the claim was taken away meanwhile
    retry_ids: list = field(default_factory=list)


def run_chunk(job_id, answer_ids, backend=None):
    """Generate the still-pending answers among `answer_ids` for job `job_id`."""
    settings = GenerationSettings.from_env()
    job = GenerationJob.objects.filter(pk=job_id).first()
    if job is None or not job.is_active:
        return ChunkOutcome()
    token = uuid.uuid4()
    answers = claim(job, answer_ids, token, settings.lease_seconds)
    if not answers:
        return ChunkOutcome()
    job.mark_running()
    with LeaseKeeper(token, settings.lease_seconds):
        results = generate_all(lambda: backend or backend_for(job.backend, job.options),
                               [a.request() for a in answers])
    outcome = store_results(job, answers, results, token, settings.max_attempts)
    job.record_errors(sorted({r.error for r in results if r.error}))
    job.refresh_counts()
    return outcome


def claim(job, answer_ids, token, lease_seconds):
    """Take the rows that are still pending; returns them in run order."""
    Answer.objects.filter(id__in=answer_ids, job=job, status=Answer.Status.PENDING).update(
        status=Answer.Status.RUNNING, claim_token=token, attempts=F("attempts") + 1,
        lease_until=timezone.now() + timedelta(seconds=lease_seconds))
    return list(Answer.objects.filter(claim_token=token).select_related("variant", "query").in_run_order())


def generate_all(get_backend, requests):
    """The backend's results; if the whole batch fails, one error result per request."""
    try:
        results = get_backend().generate(requests)
        if len(results) != len(requests):
            raise RuntimeError(f"{len(results)} results for {len(requests)} requests")
        return results
    except Exception as exc:  # noqa: BLE001 - recorded on every row and retried; the worker lives on
        return [GenerationResult(error=f"backend failed: {type(exc).__name__}: {exc}") for _ in requests]


def store_results(job, answers, results, token, max_attempts):
    outcome = ChunkOutcome()
    now = timezone.now()
    released = {"claim_token": None, "lease_until": None}
    with transaction.atomic():
        for answer, result in zip(answers, results):
            mine = Answer.objects.filter(pk=answer.pk, claim_token=token, status=Answer.Status.RUNNING)
            if result.ok:
                written = mine.update(
                    status=Answer.Status.DONE, text=result.text, finish_reason=result.finish_reason[:30],
                    prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens,
                    latency_ms=result.latency_ms, backend=job.backend, model_hash=result.model_hash,
                    engine_version=result.engine_version[:100], logprobs=logprobs.pack(result.logprobs),
                    error="", generated_at=now, **released)
                outcome.done += written
            elif answer.attempts >= max_attempts:
                written = mine.update(status=Answer.Status.FAILED, error=result.error, **released)
                outcome.failed += written
            else:
                written = mine.update(status=Answer.Status.PENDING, error=result.error, **released)
                if written:
                    outcome.retry_ids.append(answer.pk)
            outcome.lost += 1 - written
    return outcome


class LeaseKeeper:
    """Renews the chunk's lease every third of its length until the block ends."""

    def __init__(self, token, lease_seconds):
        self.token = token
        self.lease_seconds = lease_seconds
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._renew, name=f"lease-{token}", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopped.set()
        self.thread.join()

    def _renew(self):
        try:
            while not self.stopped.wait(self.lease_seconds / 3):
                try:
                    Answer.objects.filter(claim_token=self.token, status=Answer.Status.RUNNING).update(
                        lease_until=timezone.now() + timedelta(seconds=self.lease_seconds))
                except DatabaseError as exc:
                    # One missed renewal is harmless (the lease outlasts three); keep trying.
                    logger.warning("could not renew the lease of chunk %s: %s", self.token, exc)
        finally:
            connection.close()  # this thread's own connection
