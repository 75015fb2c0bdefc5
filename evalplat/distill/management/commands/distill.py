"""manage.py distill EXPERIMENT --variant best|vN --base MODEL --out DIR: bake the winning prompt in.

Trains a LoRA adapter on the variant's answers given without the prompt, against the stored
teacher distributions, and writes DIR/adapter and DIR/merged, each with a model card. Needs
torch, transformers and peft: run it with the .venv-vllm environment.
"""
from django.core.management.base import BaseCommand, CommandError

from distillation import DEFAULT_TOP_K
from evalplat.distill.runner import DistillRefused, distill_experiment
from evalplat.experiments.models import Experiment


class Command(BaseCommand):
    help = "Distil a variant's prompt into a LoRA adapter (context distillation) and report KL to the teacher."

    def add_arguments(self, parser):
        parser.add_argument("experiment", help="experiment slug")
        parser.add_argument("--variant", default="best",
                            help="vN, or 'best' (default): the recommended combination's variant when it was tested, "
                                 "else the tested variant with the highest estimated utility")
        parser.add_argument("--base", required=True, help="the base model (a directory or a model id) to train on")
        parser.add_argument("--out", required=True, help="directory for adapter/ and merged/")
        parser.add_argument("--steps", type=int, default=100)
        parser.add_argument("--rank", type=int, default=8, help="LoRA rank")
        parser.add_argument("--learning-rate", type=float, default=2e-3)
        parser.add_argument("--batch-size", type=int, default=8, help="answers per step")
        parser.add_argument("--top-k", type=int, default=DEFAULT_TOP_K,
                            help=f"teacher alternatives per token the loss uses (default {DEFAULT_TOP_K})")
        parser.add_argument("--held-out-share", type=float, default=0.25, help="share of queries held out")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **options):
        experiment = Experiment.objects.filter(slug=options["experiment"]).first()
        if experiment is None:
            raise CommandError(f"no experiment named {options['experiment']!r}")
        training = {name: options[name] for name in ("steps", "rank", "learning_rate", "batch_size", "top_k",
                                                     "held_out_share", "seed")}
        try:
            distilled = distill_experiment(experiment, options["variant"], options["base"], options["out"], **training)
        except DistillRefused as exc:
            raise CommandError(str(exc)) from None
        for line in distilled.report_lines():
            self.stdout.write(line)
