"""Celery tasks: ids in, the work in plain functions (runner.run_queued), nothing else here.

run_distillation is routed to the "gpu" queue (settings.CELERY_TASK_ROUTES), where the worker
(`manage.py worker`, run with the .venv-vllm environment) has torch, transformers and peft.
"""
from celery import shared_task

from evalplat.distill import runner


@shared_task(name="evalplat.distill.tasks.run_distillation")
def run_distillation(run_id):
    run = runner.run_queued(run_id)
    return {"state": run.state if run else "skipped"}
