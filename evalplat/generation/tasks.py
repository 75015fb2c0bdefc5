"""Celery tasks: ids in, the work in plain functions (chunks.run_chunk), nothing else here.

run_chunk is routed to the "gpu" queue (settings.CELERY_TASK_ROUTES); serve it with
    celery -A evalplat worker -Q gpu --pool=solo --concurrency=1 --prefetch-multiplier=1
(or `manage.py worker`): vLLM starts child processes, which the prefork pool forbids, and one
chunk at a time keeps a single engine per GPU.
"""
from celery import shared_task
from django.conf import settings

from evalplat.generation import chunks


@shared_task(name="evalplat.generation.tasks.run_chunk")
def run_chunk(job_id, answer_ids):
    outcome = chunks.run_chunk(job_id, answer_ids)
    if outcome.retry_ids:
        # Failed requests go round again after a pause (a rate limit or a restarting server
        # usually needs one); each row's attempts bound how often.
        run_chunk.apply_async((job_id, outcome.retry_ids), countdown=settings.GENERATION_RETRY_DELAY)
    return {"done": outcome.done, "failed": outcome.failed, "lost": outcome.lost, "retry": len(outcome.retry_ids)}
