"""Running one chunk: claim the rows still pending, generate, write back while the claim holds.

The claim is a conditional UPDATE (pending -> running, with a fresh claim token and a lease), so
a chunk that is delivered twice, or queued again by a resume, finds nothing left to take. While
the engine works, a thread keeps renewing the lease; a worker that is killed stops renewing it,
and once it runs out the rows can be handed to another worker. Results are written only to rows
that still carry this chunk's token, so a worker that was presumed dead cannot overwrite them.

A database that is briefly unreachable costs no work: the claim is one transaction (a chunk cut
off there is claimed whole when its task runs again, see tasks.run_chunk), and results, which
cost engine time, are kept and written once the database answers again.
"""
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from designs import limits
from evalplat.generation import logprobs
from evalplat.generation.backends import backend_for
from evalplat.generation.backends.base import GenerationResult
from evalplat.generation.models import Answer, GenerationJob

logger = logging.getLogger(__name__)


@dataclass
class ChunkOutcome:
    done: int = 0
    failed: int = 0
    lost: int = 0  # results not written because the claim was taken away meanwhile
    retry_ids: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # the distinct errors recorded on the rows, sorted


def run_chunk(job_id, answer_ids, backend=None):
    """Generate the still-pending answers among `answer_ids` for job `job_id`."""
    job = GenerationJob.objects.filter(pk=job_id).first()
    if job is None or not job.is_active:
        return ChunkOutcome()
    token = uuid.uuid4()
    with transaction.atomic():
        answers = claim(job, answer_ids, token, settings.GENERATION_LEASE_SECONDS)
        if not answers:
            return ChunkOutcome()
        job.mark_running()
    with LeaseKeeper(token, settings.GENERATION_LEASE_SECONDS):
        results = generate_all(lambda: backend or backend_for(job.backend, job.options),
                               [a.request() for a in answers])
    # Up to a lease's length: after that another worker may have taken the rows over, and what
    # this one writes would be refused anyway.
    patience = settings.GENERATION_LEASE_SECONDS
    outcome = when_database_answers(
        lambda: store_results(job, answers, results, token, settings.GENERATION_MAX_ATTEMPTS), patience)
    when_database_answers(lambda: job.record_errors(outcome.errors), patience)
    when_database_answers(job.refresh_counts, patience)
    return outcome


def when_database_answers(step, patience):
    """step(), tried again (on a new connection, with backoff) while the database is unreachable,
    for up to `patience` seconds; then the error is raised."""
    deadline, pause = time.monotonic() + patience, 0.25
    while True:
        try:
            return step()
        except (OperationalError, InterfaceError) as exc:
            if time.monotonic() + pause > deadline:
                raise
            logger.warning("database unreachable (%s); trying again in %.2f s", exc, pause)
            connection.close()
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


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


RESULT_FIELDS = ["status", "text", "finish_reason", "prompt_tokens", "completion_tokens", "latency_ms", "backend",
                 "model_hash", "adapter_hash", "engine_version", "logprobs", "error", "generated_at", "claim_token", "lease_until"]


def output_problem(result):
    """Why a result's output cannot be stored (or shown to raters), or None.

    Model output is untrusted input: a NUL or an unpaired surrogate, which PostgreSQL refuses and
    a random or broken model can produce, would otherwise fail the whole chunk's write.
    """
    problem = limits.text_problem(result.text, limits.MARKDOWN)
    if problem:
        return f"the model's output cannot be stored: text: {problem}"
    for index, position in enumerate(result.logprobs, start=1):
        for text in (position.token, *(alternative for alternative, _ in position.top)):
            problem = limits.text_problem(text, limits.TOKEN)
            if problem:
                return f"the model's output cannot be stored: logprobs[{index}] token: {problem}"
    return None


def store_results(job, answers, results, token, max_attempts):
    """Write each result to its row while the row is still this chunk's.

    One conditional UPDATE statement, executed for all rows at once (executemany): Django's
    per-row update() or bulk_update() cost more than generating a tiny model's answer, and the
    WHERE on the claim token is what keeps a worker presumed dead from overwriting anything.
    """
    outcome = ChunkOutcome()
    now = timezone.now()
    rows = []
    for answer, result in zip(answers, results):
        answer.claim_token = answer.lease_until = None
        problem = output_problem(result) if result.ok else None
        answer.error = result.error or problem or ""
        if problem:
            # Seeded, so asking again would give the same output: failed at once.
            answer.status = Answer.Status.FAILED
        elif result.ok:
            answer.status = Answer.Status.DONE
            answer.text, answer.finish_reason = result.text, result.finish_reason[:30]
            answer.prompt_tokens, answer.completion_tokens = result.prompt_tokens, result.completion_tokens
            answer.latency_ms, answer.backend, answer.generated_at = result.latency_ms, job.backend, now
            answer.model_hash, answer.engine_version = result.model_hash, result.engine_version[:100]
            answer.adapter_hash = result.adapter_hash
            answer.logprobs = logprobs.pack(result.logprobs)
        elif answer.attempts >= max_attempts:
            answer.status = Answer.Status.FAILED
        else:
            answer.status = Answer.Status.PENDING
        rows.append(answer)
    with transaction.atomic():
        # Lock the rows this chunk still holds, so that a reclaim cannot slip in before the write.
        held = set(Answer.objects.select_for_update().filter(
            claim_token=token, status=Answer.Status.RUNNING).values_list("id", flat=True))
        _update_if_held([a for a in rows if a.pk in held], token)
    for answer in rows:
        if answer.pk not in held:
            outcome.lost += 1
        elif answer.status == Answer.Status.DONE:
            outcome.done += 1
        elif answer.status == Answer.Status.FAILED:
            outcome.failed += 1
        else:
            outcome.retry_ids.append(answer.pk)
    outcome.errors = sorted({answer.error for answer in rows if answer.error})
    return outcome


def _update_if_held(answers, token):
    if not answers:
        return
    fields = [Answer._meta.get_field(name) for name in RESULT_FIELDS]
    quote = connection.ops.quote_name
    claim = Answer._meta.get_field("claim_token")
    sql = (f"UPDATE {quote(Answer._meta.db_table)} SET {', '.join(f'{quote(f.column)} = %s' for f in fields)} "
           f"WHERE {quote('id')} = %s AND {quote(claim.column)} = %s AND {quote('status')} = %s")
    running, held_by = Answer.Status.RUNNING.value, claim.get_db_prep_value(token, connection)
    with connection.cursor() as cursor:
        cursor.executemany(sql, [
            [f.get_db_prep_save(getattr(a, f.attname), connection) for f in fields] + [a.pk, held_by, running]
            for a in answers])


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
