"""Distilling an experiment's winner into a LoRA adapter: the plain functions behind `manage.py
distill`, the console's button and the GPU task.

torch, transformers and peft are imported inside `distill_experiment` only (from the
`distillation` package), so the web app that queues a run never loads them; the worker that
trains runs in the environment that has them (.venv-vllm).
"""
from dataclasses import asdict, dataclass
from pathlib import Path

from django.db import transaction

from evalplat.distill.choice import NoWinner, resolve_variant
from evalplat.distill.data import distillation_examples
from evalplat.distill.models import DistillationRun
from evalplat.generation.backends.base import local_model_hash

TRAINING_OPTIONS = ("steps", "rank", "alpha", "learning_rate", "batch_size", "top_k", "held_out_share", "seed")


class DistillRefused(ValueError):
    """Distillation cannot start; the message says why, and nothing was written."""


@dataclass(frozen=True)
class Distilled:
    experiment: str
    variant: str
    variant_note: str
    adapter: str
    merged: str
    result: dict  # distillation.training.Result.as_dict()

    def report_lines(self):
        return report_lines(asdict(self))


def distill_experiment(experiment, variant, base, out, **options):
    """Train the adapter on `variant`'s answers ("best" or "vN"); returns Distilled."""
    try:
        code, note = resolve_variant(experiment, variant)
    except NoWinner as exc:
        raise DistillRefused(str(exc)) from None
    records = distillation_examples(experiment, code)
    if not records:
        raise DistillRefused(f"{experiment.slug} {code} has no generated answers to distil")
    unknown = sorted(set(options) - set(TRAINING_OPTIONS))
    if unknown:
        raise DistillRefused(f"unknown training option(s): {', '.join(unknown)}")
    try:
        from distillation.training import Config, Example, distil
    except ImportError as exc:
        raise DistillRefused(f"distillation needs torch, transformers and peft ({exc}); run it with the "
                             ".venv-vllm environment (.venv-vllm/bin/python manage.py distill ...)") from None
    config = Config(**options)
    describe = {"experiment": experiment.slug, "variant": code, "variant_note": note,
                "teacher_models": sorted({r["model"] for r in records}), "base_sha256": local_model_hash(base)}
    result, adapter, merged = distil(base, describe["base_sha256"], [Example.from_record(r) for r in records],
                                     config, out, describe)
    return Distilled(experiment=experiment.slug, variant=code, variant_note=note, adapter=str(adapter),
                     merged=str(merged), result={**result.as_dict(), **describe})


def report_lines(distilled):
    """What `distill` prints: train and held-out KL to the teacher before and after, beside the KL
    between the prompted and unprompted base model, and the teacher's top tokens matched."""
    result = distilled["result"]
    k = result["config"]["top_k"]
    splits = [s for s in ("train", "held_out") if s in result["after"]]
    lines = [f"Distilled {distilled['experiment']} {distilled['variant']} ({distilled['variant_note']})",
             f"  base {result['base']}; {result['examples']} answers, data sha256 {result['data_sha256'][:12]}; "
             f"{len(result['train_queries'])} training and {len(result['held_out_queries'])} held-out queries",
             f"  {result['config']['steps']} steps, LoRA rank {result['config']['rank']}, seed {result['config']['seed']}, "
             f"on {result['device']}"
             + (f"; {result['recomputed_targets']} teacher distributions recomputed (none stored with token ids)"
                if result["recomputed_targets"] else ""),
             "",
             f"  {'per answer token':<58}" + "".join(f"{s:>12}" for s in splits)]

    def row(label, values):
        lines.append(f"  {label:<58}" + "".join(f"{v:>12}" for v in values))

    row("KL prompted vs unprompted base (full vocabulary)", [f"{result['before'][s]['kl_full']:.5f}" for s in splits])
    row(f"KL to teacher (top-{k} + tail), before", [f"{result['before'][s]['kl_target']:.5f}" for s in splits])
    row(f"KL to teacher (top-{k} + tail), after", [f"{result['after'][s]['kl_target']:.5f}" for s in splits])
    row("KL student vs prompted base (full vocabulary), after", [f"{result['after'][s]['kl_full']:.5f}" for s in splits])
    row("teacher's top token is the student's, before", [f"{result['before'][s]['top1']:.1%}" for s in splits])
    row("teacher's top token is the student's, after", [f"{result['after'][s]['top1']:.1%}" for s in splits])
    row(f"share of the teacher's top {k} in the student's, after", [f"{result['after'][s]['topk_overlap']:.1%}" for s in splits])
    lines += ["", f"  adapter: {distilled['adapter']}", f"  merged checkpoint: {distilled['merged']}"]
    return lines


def queue_distillation(experiment, variant, base, out, user=None, **options):
    """What the console's button calls: check what can be checked now, record the run, queue the
    training on a GPU worker. Returns the DistillationRun."""
    from evalplat.distill.tasks import run_distillation

    try:
        code, note = resolve_variant(experiment, variant)
    except NoWinner as exc:
        raise DistillRefused(str(exc)) from None
    if not base:
        raise DistillRefused("base: name the base model the adapter is trained on")
    if not distillation_examples(experiment, code):
        raise DistillRefused(f"{experiment.slug} {code} has no generated answers to distil")
    with transaction.atomic():
        run = DistillationRun.objects.create(experiment=experiment, variant=code, variant_note=note, base=base,
                                             out=str(Path(out)), options=options, requested_by=user)
        run_distillation.delay_on_commit(run.pk)
    return run


def run_queued(run_id):
    """The GPU task's work: claim the run, train, record the outcome."""
    run = DistillationRun.objects.select_related("experiment").filter(pk=run_id).first()
    if run is None or not run.claim():
        return None
    try:
        distilled = distill_experiment(run.experiment, run.variant, run.base, run.out, **run.options)
    except Exception as exc:  # noqa: BLE001 - recorded on the run for the console; the worker lives on
        run.fail(f"{type(exc).__name__}: {exc}")
        return run
    run.finish({**asdict(distilled), "report": distilled.report_lines()})
    return run
