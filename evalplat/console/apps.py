from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The experimenter's pages: on top of every domain app, composing their public functions."""

    name = "evalplat.console"
    label = "console"
