"""Celery tasks: ids in, the work in plain functions (chunks.run_chunk), nothing else here.

run_chunk is routed to the "gpu" queue (settings.CELERY_TASK_ROUTES); serve it with
    celery -A evalplat worker -Q gpu --pool=solo --concurrency=1 --prefetch-multiplier=1
(or `manage.py worker`): vLLM starts child processes, which the prefork pool forbids, and one
chunk at a time keeps a single engine per GPU.
"""
from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from evalplat.generation import chunks

MAX_DATABASE_PAUSE = 30  # seconds between tries of a chunk while the database is unreachable


@shared_task(bind=True, name="evalplat.generation.tasks.run_chunk", max_retries=None)
def run_chunk(self, job_id, answer_ids):
    try:
        outcome = chunks.run_chunk(job_id, answer_ids)
    except (OperationalError, InterfaceError) as exc:
        if self.request.is_eager:
            raise  # in-process (the demo): the caller sees the error; a retry would run at once, forever
        # The database is away. A chunk cut off before generating claimed nothing (the claim is
        # one transaction), so it simply runs again later; one that waited out its lease for the
        # database finds nothing pending and leaves its rows to `generate --resume`.
        raise self.retry(exc=exc, countdown=min(2 ** self.request.retries, MAX_DATABASE_PAUSE)) from None
    if outcome.retry_ids:
        # Failed requests go round again after a pause (a rate limit or a restarting server
        # usually needs one); each row's attempts bound how often.
        run_chunk.apply_async((job_id, outcome.retry_ids), countdown=settings.GENERATION_RETRY_DELAY)
    return {"done": outcome.done, "failed": outcome.failed, "lost": outcome.lost, "retry": len(outcome.retry_ids)}
