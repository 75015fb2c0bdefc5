"""Answers (one per variant × query × sample) and the generation jobs that fill them in.

An answer row exists from the moment a job is planned, as "pending"; a worker claims it by a
conditional UPDATE that stamps a claim token and a lease, and writes the result back only while
it still holds that claim. A worker that dies leaves rows "running" with a lease that stops being
renewed; resuming the job hands them back (see GenerationJob.reclaim_expired).
"""
from django.conf import settings
from django.db import models, transaction
from django.db.models import Count, Q, Sum
from django.dispatch import receiver
from django.utils import timezone

from designs.spec import GenerationSettings
from evalplat.experiments.models import Experiment, Query, Variant, replacement_requested
from evalplat.generation import logprobs as token_logprobs
from evalplat.generation import notices
from evalplat.generation.backends.base import GenerationRequest

ERRORS_KEPT = 20


class GenerationJob(models.Model):
    """A request to generate an experiment's missing answers, and its progress.

    "planning": created by whoever started it, waiting for a worker to plan it (to create and
    attach its rows, see planning.plan_job); "queued": its rows are attached and its chunks
    queued; "running" from the first claim until nothing is left to do.
    """
    class State(models.TextChoices):
        PLANNING = "planning", "Planning"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Done, some answers failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = (State.PLANNING, State.QUEUED, State.RUNNING)
    NOT_STARTED = (State.PLANNING, State.QUEUED)  # no chunk has claimed anything yet

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="generation_jobs")
    backend = models.CharField(max_length=20)
    options = models.JSONField(default=dict, blank=True, help_text="Backend options, e.g. the replay file.")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PLANNING)
    # db_default too, so that a process of the previous release (during a rolling deploy, or the
    # generation benchmark's --baseline) can still insert a job.
    only_failed = models.BooleanField(default=False, db_default=False,
                                      help_text="Takes only the answers that had failed (Retry failed).")
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text=f"The last {ERRORS_KEPT} errors.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.experiment.slug} #{self.pk} ({self.backend}, {self.state})"

    @property
    def is_active(self):
        return self.state in self.ACTIVE

    def planned(self, total):
        """Its rows are attached (`total` of them): chunks may now be queued. Returns whether the
        job was still planning (not cancelled, not planned by a copy of the same task)."""
        return GenerationJob.objects.filter(pk=self.pk, state=self.State.PLANNING).update(
            state=self.State.QUEUED, total=total) == 1

    def mark_running(self):
        GenerationJob.objects.filter(pk=self.pk, state=self.State.QUEUED).update(
            state=self.State.RUNNING, started_at=timezone.now())

    def cancel(self, *, if_not_started=False):
        """Stop handing out work; chunks already inside the engine finish and are kept.

        With `if_not_started`, only a job no chunk has claimed anything of yet is cancelled (one
        whose work could not be queued); a running one is left to its workers.
        """
        states = self.NOT_STARTED if if_not_started else self.ACTIVE
        cancelled = GenerationJob.objects.filter(pk=self.pk, state__in=states).update(
            state=self.State.CANCELLED, finished_at=timezone.now()) == 1
        if cancelled:
            sync_experiment_status(self.experiment)
            notices.announce(self.pk)
        return cancelled

    def record_errors(self, messages):
        if messages:
            with transaction.atomic():
                job = GenerationJob.objects.select_for_update().get(pk=self.pk)
                job.errors = (job.errors + list(messages))[-ERRORS_KEPT:]
                job.save(update_fields=["errors"])

    def refresh_counts(self):
        """Recount from the answer rows (never incremented, so a repeated chunk cannot skew it)
        and finish the job once nothing is left to do."""
        counts = self.answers.aggregate(
            total=Count("id"),
            done=Count("id", filter=Q(status=Answer.Status.DONE)),
            failed=Count("id", filter=Q(status=Answer.Status.FAILED)),
            open=Count("id", filter=Q(status__in=(Answer.Status.PENDING, Answer.Status.RUNNING))),
            prompt_tokens=Sum("prompt_tokens", filter=Q(status=Answer.Status.DONE), default=0),
            completion_tokens=Sum("completion_tokens", filter=Q(status=Answer.Status.DONE), default=0),
        )
        still_open = counts.pop("open")
        GenerationJob.objects.filter(pk=self.pk).update(**counts)
        if not still_open:
            final = self.State.FAILED if counts["failed"] else self.State.DONE
            if GenerationJob.objects.filter(pk=self.pk, state__in=self.ACTIVE).update(
                    state=final, finished_at=timezone.now()):
                sync_experiment_status(self.experiment)
        notices.announce(self.pk)
        self.refresh_from_db()

    def reclaim_expired(self, now=None):
        """Hand back rows claimed by a worker whose lease ran out (it died or was killed).

        Each claim already counted an attempt, so a request that keeps killing its worker ends
        as failed instead of looping forever.
        """
        now = now or timezone.now()
        stale = self.answers.filter(status=Answer.Status.RUNNING, lease_until__lt=now)
        max_attempts = settings.GENERATION_MAX_ATTEMPTS
        failed = stale.filter(attempts__gte=max_attempts).update(
            status=Answer.Status.FAILED, claim_token=None, lease_until=None,
            error="the worker running it stopped (killed or crashed) on every attempt")
        returned = stale.update(status=Answer.Status.PENDING, claim_token=None, lease_until=None)
        return returned + failed


class AnswerQuerySet(models.QuerySet):
    def usable(self):
        """What rating may show: generated and not excluded."""
        return self.filter(status=Answer.Status.DONE, excluded=False)

    def in_run_order(self):
        """Model first (each model loads once), then variant, so requests sharing a system prompt
        run together and hit vLLM's prefix cache."""
        return self.order_by("model", "variant__position", "query__position", "sample")


class Answer(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="answers")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="answers")
    query = models.ForeignKey(Query, on_delete=models.CASCADE, related_name="answers")
    sample = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)

    # What was asked: recorded when the row is planned, so the worker sends exactly this and an
    # export can show it, even if prompt composition changes later.
    messages = models.JSONField(default=list)
    model = models.CharField(max_length=500, help_text="Model path or id, after setting factors.")
    settings = models.JSONField(default=dict, help_text="The resolved generation settings.")
    seed = models.BigIntegerField(null=True, blank=True)

    text = models.TextField(blank=True, help_text="Model output: untrusted, render as sanitised Markdown.")
    finish_reason = models.CharField(max_length=30, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    backend = models.CharField(max_length=20, blank=True)
    model_hash = models.CharField(max_length=64, blank=True, help_text="sha256 of a local model directory.")
    adapter_hash = models.CharField(max_length=64, blank=True,
                                    help_text="sha256 of the LoRA adapter directory the answer was made with, if any.")
    engine_version = models.CharField(max_length=100, blank=True)
    logprobs = models.JSONField(null=True, blank=True, help_text="Top-k token log-probabilities, columnar "
                                                                 "(see evalplat/generation/logprobs.py).")
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)

    job = models.ForeignKey(GenerationJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="answers")
    claim_token = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)

    excluded = models.BooleanField(default=False)
    exclusion_reason = models.CharField(max_length=300, blank=True)

    objects = AnswerQuerySet.as_manager()

    class Meta:
        ordering = ["variant__position", "query__position", "sample"]
        constraints = [
            models.UniqueConstraint(fields=["variant", "query", "sample"], name="unique_answer_per_sample"),
        ]
        indexes = [models.Index(fields=["job", "status"]), models.Index(fields=["claim_token"])]

    def __str__(self):
        return f"{self.variant.code}/{self.query.key}/{self.sample}"

    @property
    def key(self):
        return (self.variant.code, self.query.key, self.sample)

    def request(self):
        s = GenerationSettings.from_dict(self.settings)
        return GenerationRequest(
            messages=tuple(self.messages), model=self.model, adapter=s.adapter, max_tokens=s.max_tokens,
            temperature=s.temperature, top_p=s.top_p, seed=self.seed, logprobs=s.logprobs, key=self.key,
            **{name: getattr(s, name) for name in GenerationRequest.OPTIONAL_SAMPLING},
        )

    def token_logprobs(self):
        return token_logprobs.unpack(self.logprobs)

    def exclude(self, reason):
        """Keep this answer from raters from now on; returns whether it was shown until now."""
        return Answer.objects.filter(pk=self.pk, excluded=False).update(
            excluded=True, exclusion_reason=reason[:300]) == 1

    def include_again(self):
        """Undo an exclusion; returns whether it happened. Only before rating opens: once raters
        judge the answer set, an answer that was kept from them stays out."""
        return (Answer.objects.filter(pk=self.pk, excluded=True)
                .exclude(experiment__status__in=(Experiment.Status.RATING, Experiment.Status.CLOSED))
                .update(excluded=False, exclusion_reason="") == 1)


def planned_answer_count(experiment):
    """How many answers the design plans: one per (variant, query, sample)."""
    return experiment.variants.count() * experiment.queries.count() * experiment.generation_settings.samples


def has_every_answer(experiment):
    """Whether every (variant, query, sample) the design plans has a finished answer."""
    planned = planned_answer_count(experiment)
    return planned > 0 and Answer.objects.filter(experiment=experiment, status=Answer.Status.DONE).count() == planned


def sync_experiment_status(experiment):
    """Tell the experiment what its answers now say: complete (ready) or, with no job left
    running, incomplete (back to draft). Called whenever answers stop changing: a job ends or
    is cancelled, an import is written."""
    if has_every_answer(experiment):
        experiment.answers_ready()
    elif not experiment.generation_jobs.filter(state__in=GenerationJob.ACTIVE).exists():
        experiment.generation_stopped()


@receiver(replacement_requested)
def _answers_block_replacement(sender, experiment, **kwargs):
    answers = Answer.objects.filter(experiment=experiment).count()
    return f"it has {answers} answers" if answers else ""
