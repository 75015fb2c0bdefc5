"""The test suite's settings: the project's own, with a test-only secret key and a fast hasher.

The key goes into the environment, not just into SECRET_KEY, so that the processes the tests
start (a Celery worker, a pytest re-run on PostgreSQL) read it too: evalplat.settings refuses
the public development key whenever DEBUG is off, and the tests run with DEBUG off.
"""
import os

os.environ.setdefault("SECRET_KEY", "tests-only-key-not-secret-0123456789abcdefghijklmnopqrstuvwxyz")

from evalplat.settings import *  # noqa: E402,F403

# Password hashing is deliberately slow; the tests create users by the dozen.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Test clients answer an item in milliseconds, which the rating pages would flag as too fast to
# have read it, and the analysis would then set every such rater aside. The tests of that rule
# set RATING_FAST_MEDIAN_SECONDS back themselves (tests/rating/test_rater_limits.py).
RATING_FAST_MEDIAN_SECONDS = 0.0
