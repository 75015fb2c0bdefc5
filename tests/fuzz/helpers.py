"""What every fuzz test checks: a message with the place, never a traceback, and no rows written."""
import re
from contextlib import contextmanager

from django.apps import apps
from django.db import transaction

# FILE:LINE: message, or FILE: message when the problem is the whole file (the design's
# problems also name the field, checked on the Problem objects themselves).
PLACED = re.compile(r"^.+?(:\d+)?: \S.*", re.S)


def row_counts():
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


@contextmanager
def rolled_back():
    """Run one example in a savepoint that is always rolled back, so examples do not see each
    other's rows (a valid file imports; the next example starts from the same database)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def assert_placed(messages, files):
    """Each message names one of `files`, with a line where there is one, and says something."""
    assert messages, "an error with no message"
    for message in messages:
        assert any(message.startswith(f"{name}:") for name in files), message[:300]
        assert PLACED.match(message), message[:300]
