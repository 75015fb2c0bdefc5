"""Counting a rater request's SQL statements, BEGIN and COMMIT aside."""
from contextlib import contextmanager

from django.db import connection
from django.test.utils import CaptureQueriesContext

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK")


@contextmanager
def at_most_statements(limit):
    """Fails unless the block runs at most `limit` SQL statements besides BEGIN and COMMIT, which Django logs on
    SQLite (its own BEGIN IMMEDIATE and COMMIT) but not on PostgreSQL (psycopg sends them): so the two databases
    are counted alike. Yields the list of the statements counted, filled in when the block ends."""
    counted = []
    with CaptureQueriesContext(connection) as captured:
        yield counted
    counted.extend(q["sql"] for q in captured.captured_queries if not q["sql"].startswith(TRANSACTION_CONTROL))
    assert len(counted) <= limit, f"{len(counted)} statements, at most {limit}:\n" + "\n".join(counted)
