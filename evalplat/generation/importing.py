"""Answers made elsewhere: check a replay file against an experiment, and import it.

Used by `manage.py import_answers` (rows written at once) and by `generate --backend replay`
(checked before the job is planned). Every problem names the file and line; nothing is written
while there is one.
"""
from django.db import transaction
from django.utils import timezone

from evalplat.generation import logprobs
from evalplat.generation.backends.replay import ReplayError, read_replay_file
from evalplat.generation.models import Answer, GenerationJob, sync_experiment_status
from evalplat.generation.planning import create_missing_answers, planned_answers


def replay_problems(experiment, answers, path, *, partial=False, for_import=True):
    """Lines that name no answer of the experiment, lines for answers already done (when
    importing: a replay job simply skips them), and unless `partial`, answers still to do that
    the file lacks."""
    planned_in_order = [p.key for p in planned_answers(experiment)]
    planned = set(planned_in_order)
    done = {a.key for a in experiment.answers.filter(status=Answer.Status.DONE).select_related("variant", "query")}
    samples = experiment.generation_settings.samples
    problems = []
    for key, answer in answers.items():
        variant, query, sample = key
        if key not in planned:
            problems.append(f"{path}:{answer.line}: {experiment.slug} has no answer for variant {variant}, "
                            f"query {query}, sample {sample} (variants v1..v{experiment.variants.count()}, "
                            f"samples 0..{samples - 1})")
        elif key in done and for_import:
            problems.append(f"{path}:{answer.line}: variant {variant}, query {query}, sample {sample} "
                            "already has an answer")
    if not partial:
        missing = [key for key in planned_in_order if key not in done and key not in answers]
        problems += [f"{path}: no line for variant {v}, query {q}, sample {s}" for v, q, s in missing]
    return problems


def check_replay_file(experiment, path, *, partial=False, for_import=True):
    """The file's answers, or ReplayError listing every problem."""
    answers = read_replay_file(path)
    problems = replay_problems(experiment, answers, path, partial=partial, for_import=for_import)
    if problems:
        raise ReplayError(problems)
    return answers


def import_answers(experiment, path, *, partial=False):
    """Write the file's answers as done; returns how many. Raises ReplayError, writing nothing."""
    if experiment.answers_frozen:
        raise ReplayError([f"{experiment.slug}: rating has started, so its answers can no longer change"])
    answers = check_replay_file(experiment, path, partial=partial)
    active = experiment.generation_jobs.filter(state__in=GenerationJob.ACTIVE).first()
    if active is not None:
        raise ReplayError([f"{experiment.slug}: job #{active.pk} is still {active.state}; "
                           "wait for it or cancel it before importing"])
    now = timezone.now()
    with transaction.atomic():
        create_missing_answers(experiment)
        rows = {a.key: a for a in experiment.answers.select_related("variant", "query")}
        for key, replayed in answers.items():
            result = replayed.result
            Answer.objects.filter(pk=rows[key].pk).update(
                status=Answer.Status.DONE, text=result.text, finish_reason=result.finish_reason[:30],
                prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens,
                latency_ms=result.latency_ms, backend="replay", model=replayed.model or rows[key].model,
                engine_version=result.engine_version, logprobs=logprobs.pack(result.logprobs), error="",
                generated_at=now, claim_token=None, lease_until=None)
        sync_experiment_status(experiment)
    return len(answers)


