"""Tests that need PostgreSQL (row locks, a server process, its planner): under another database they
run themselves again on PostgreSQL, in a child pytest, rather than being skipped."""
import functools
import inspect
import os
import subprocess
import sys

from django.db import connection

POSTGRES_URL = os.environ.get("RATING_CONCURRENCY_DATABASE_URL",
                              "postgres://postgres@127.0.0.1:5432/evalplat_rating_concurrency")


def under_postgresql(test):
    path = inspect.getfile(test)

    @functools.wraps(test)
    def wrapped(*args, **kwargs):
        if connection.vendor != "postgresql":
            child = subprocess.run(
                [sys.executable, "-m", "pytest", f"{path}::{test.__name__}", "-q", "-p", "no:cacheprovider"],
                env={**os.environ, "DATABASE_URL": POSTGRES_URL}, capture_output=True, text=True, timeout=600)
            assert child.returncode == 0, child.stdout[-4000:] + child.stderr[-2000:]
            assert "1 passed" in child.stdout  # it ran there, not skipped or deselected
            return None
        return test(*args, **kwargs)
    return wrapped
