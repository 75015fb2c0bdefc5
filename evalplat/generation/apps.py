from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "evalplat.generation"
    label = "generation"
