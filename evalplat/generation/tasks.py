"""Celery tasks: ids in, the work in plain functions (planning.plan_job, chunks.run_chunk), nothing else here.

Both are routed to the "gpu" queue (settings.CELERY_TASK_ROUTES); serve it with
    celery -A evalplat worker -Q gpu --pool=solo --concurrency=1 --prefetch-multiplier=1
(or `manage.py worker`): vLLM starts child processes, which the prefork pool forbids, and one
chunk at a time keeps a single engine per GPU.
"""
from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from evalplat.generation import chunks, planning

MAX_DATABASE_PAUSE = 30  # seconds between tries of a chunk while the database is unreachable


def database_pause(retries):
    return min(2 ** retries, MAX_DATABASE_PAUSE)


@shared_task(bind=True, name="evalplat.generation.tasks.plan_job", max_retries=None)
def plan_job(self, job_id, chunk_size):
    try:
        here = planning.plan_job(job_id, chunk_size)
    except (OperationalError, InterfaceError) as exc:
        if self.request.is_eager:
            raise
        # Planning is one transaction: cut off, it wrote nothing, and the job is still "planning".
        raise self.retry(exc=exc, countdown=database_pause(self.request.retries)) from None
    for ids in planning.hand_out(job_id, here, queue=(self.request.delivery_info or {}).get("routing_key")):
        try:
            run_and_follow_up(job_id, ids)
        except (OperationalError, InterfaceError):
            if self.request.is_eager:
                raise
            # A chunk cut off before generating claimed nothing: it goes round as a task of its own,
            # which waits for the database as run_chunk does (a retry of this task would plan nothing).
            run_chunk.apply_async((job_id, ids), countdown=database_pause(0))


@shared_task(bind=True, name="evalplat.generation.tasks.run_chunk", max_retries=None)
def run_chunk(self, job_id, answer_ids):
    try:
        return run_and_follow_up(job_id, answer_ids)
    except (OperationalError, InterfaceError) as exc:
        if self.request.is_eager:
            raise  # in-process (the demo): the caller sees the error; a retry would run at once, forever
        # The database is away. A chunk cut off before generating claimed nothing (the claim is
        # one transaction), so it simply runs again later; one that waited out its lease for the
        # database finds nothing pending and leaves its rows to `generate --resume`.
        raise self.retry(exc=exc, countdown=database_pause(self.request.retries)) from None


def run_and_follow_up(job_id, answer_ids):
    outcome = chunks.run_chunk(job_id, answer_ids)
    if outcome.retry_ids:
        # Failed requests go round again after a pause (a rate limit or a restarting server
        # usually needs one); each row's attempts bound how often.
        run_chunk.apply_async((job_id, outcome.retry_ids), countdown=settings.GENERATION_RETRY_DELAY)
    return {"done": outcome.done, "failed": outcome.failed, "lost": outcome.lost, "retry": len(outcome.retry_ids)}
