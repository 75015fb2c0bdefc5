from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "evalplat.experiments"
    label = "experiments"
