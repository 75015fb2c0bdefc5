from django.apps import AppConfig


class DistillConfig(AppConfig):
    name = "evalplat.distill"
    label = "distill"
    verbose_name = "Distillation and follow-up experiments"
