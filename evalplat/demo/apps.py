from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo: the most downstream app, it drives every other one end to end."""

    name = "evalplat.demo"
    label = "demo"
