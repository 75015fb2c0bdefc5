"""Hypothesis settings for the fuzz tests: a few hundred examples per parser in CI.

HYPOTHESIS_PROFILE=deep runs 20 times as many (a local search for new failures). Examples are
derandomized so that CI is repeatable, and no example database is written into the tree.
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=200, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                           HealthCheck.data_too_large])
settings.register_profile("deep", parent=settings.get_profile("ci"), max_examples=4000, derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
