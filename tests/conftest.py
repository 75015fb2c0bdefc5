"""Shared fixtures: three users (owner, rater, outsider) and a small experiment.

The owner created the experiment and sees it in the console; the outsider is
another console user who must not; `rater_user` is a Django user with no
console rights (raters themselves are anonymous rating.Rater rows, made by the
rating tests' own fixtures).
"""
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("owner", "owner@example.com", "owner-password-1")


@pytest.fixture
def outsider(django_user_model):
    return django_user_model.objects.create_user("outsider", "outsider@example.com", "outsider-password-1")


@pytest.fixture
def rater_user(django_user_model):
    return django_user_model.objects.create_user("rater", "rater@example.com", "rater-password-1")


@pytest.fixture
def small_design_path():
    return FIXTURES / "small.toml"


@pytest.fixture
def experiment(owner, small_design_path):
    from evalplat.experiments.importing import import_design_file

    return import_design_file(small_design_path, owner=owner)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate limits count per process (a local-memory cache): each test starts with none used."""
    from django.core.cache import caches

    caches["ratelimit"].clear()
