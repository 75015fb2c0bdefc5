"""A distillation queued from the console: what to train, and how it went.

The row is the task's handle (Celery tasks take ids): the console creates it queued, a GPU
worker claims it with a conditional UPDATE (so a redelivered task trains nothing twice) and
writes the outcome back; the row, not the worker, owns its state.
"""
from django.conf import settings
from django.db import models
from django.utils import timezone

from evalplat.experiments.models import Experiment


class DistillationRun(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Training"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="distillation_runs")
    variant = models.CharField(max_length=20, help_text="The variant whose answers are distilled.")
    variant_note = models.CharField(max_length=300, blank=True, help_text="Why this variant ('best' resolved).")
    base = models.CharField(max_length=500, help_text="The base model the adapter is trained on.")
    out = models.CharField(max_length=500, help_text="Directory the adapter and merged checkpoint go to.")
    options = models.JSONField(default=dict, blank=True, help_text="Training options (steps, rank, ...).")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    result = models.JSONField(default=dict, blank=True, help_text="Metrics and paths, once done.")
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.experiment.slug} {self.variant} -> {self.out} ({self.state})"

    def claim(self):
        """queued -> running; False when another delivery of the task took it first."""
        claimed = DistillationRun.objects.filter(pk=self.pk, state=self.State.QUEUED).update(
            state=self.State.RUNNING, started_at=timezone.now()) == 1
        self.refresh_from_db()
        return claimed

    def finish(self, result):
        DistillationRun.objects.filter(pk=self.pk, state=self.State.RUNNING).update(
            state=self.State.DONE, result=result, finished_at=timezone.now())
        self.refresh_from_db()

    def fail(self, error):
        DistillationRun.objects.filter(pk=self.pk, state=self.State.RUNNING).update(
            state=self.State.FAILED, error=error, finished_at=timezone.now())
        self.refresh_from_db()
