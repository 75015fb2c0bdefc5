"""Rating knobs, read from settings (which read the environment) with these defaults."""
from django.conf import settings


def gold_warn_after():
    """Failed attention items after which a rater is asked to read more carefully."""
    return getattr(settings, "RATING_GOLD_WARN_AFTER", 1)


def gold_stop_after():
    """Failed attention items after which a rater's session ends."""
    return getattr(settings, "RATING_GOLD_STOP_AFTER", 3)


def assignment_minutes():
    """Minutes an unanswered item stays with its rater before it may be handed to another."""
    return getattr(settings, "RATING_ASSIGNMENT_MINUTES", 30)
