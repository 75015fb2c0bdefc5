"""What the console shows of an experiment's generation: counts, speed, and why answers failed.

Counts come from the answer rows (one aggregate query), not from the job's stored counters, so
the page and the status endpoint agree with what a worker has written so far. Speed is the
latest job's: answers and completion tokens it finished, over the time since its first chunk
started (up to now, or to when it ended).
"""
from dataclasses import asdict, dataclass

from django.db.models import Count, Q
from django.utils import timezone

from evalplat.generation.models import Answer, planned_answer_count

ERROR_SHOWN_CHARS = 2000  # an error is grouped by its full text and shown up to this length


@dataclass(frozen=True)
class FailureGroup:
    error: str
    count: int


@dataclass(frozen=True)
class JobProgress:
    id: int
    backend: str
    state: str
    state_label: str
    active: bool
    total: int
    done: int
    failed: int
    completion_tokens: int
    seconds: float | None  # since the first chunk started; None while nothing has started
    answers_per_second: float | None
    tokens_per_second: float | None


@dataclass(frozen=True)
class GenerationProgress:
    status: str
    status_label: str
    total: int  # planned: variants x queries x samples
    done: int
    failed: int
    open: int  # pending or running
    excluded: int
    job: JobProgress | None
    failures: tuple[FailureGroup, ...]

    def as_json(self):
        return asdict(self)


def failure_summary(experiment):
    """The errors of the experiment's failed answers, grouped by text, most frequent first."""
    rows = (Answer.objects.filter(experiment=experiment, status=Answer.Status.FAILED)
            .values("error").annotate(count=Count("id")).order_by("-count", "error"))
    return tuple(FailureGroup(error=(row["error"] or "(no error text recorded)")[:ERROR_SHOWN_CHARS],
                              count=row["count"]) for row in rows)


def job_progress(job, now=None):
    if job is None:
        return None
    seconds = None
    if job.started_at is not None:
        seconds = max(((job.finished_at or now or timezone.now()) - job.started_at).total_seconds(), 1e-3)
    return JobProgress(
        id=job.pk, backend=job.backend, state=job.state, state_label=job.get_state_display(), active=job.is_active,
        total=job.total, done=job.done, failed=job.failed, completion_tokens=job.completion_tokens, seconds=seconds,
        answers_per_second=None if seconds is None else round(job.done / seconds, 2),
        tokens_per_second=None if seconds is None else round(job.completion_tokens / seconds, 1))


def generation_progress(experiment, now=None):
    experiment.refresh_from_db(fields=["status"])
    counts = Answer.objects.filter(experiment=experiment).aggregate(
        done=Count("id", filter=Q(status=Answer.Status.DONE)),
        failed=Count("id", filter=Q(status=Answer.Status.FAILED)),
        open=Count("id", filter=Q(status__in=(Answer.Status.PENDING, Answer.Status.RUNNING))),
        excluded=Count("id", filter=Q(excluded=True)))
    return GenerationProgress(
        status=experiment.status, status_label=experiment.get_status_display(),
        total=planned_answer_count(experiment), **counts,
        job=job_progress(experiment.generation_jobs.first(), now), failures=failure_summary(experiment))
