"""PostgreSQL's planner statistics of the rating tables, kept current while a study's tables grow.

The rater pages' statements are prepared (DB_PREPARED_STATEMENTS), and PostgreSQL keeps the generic
plan it settles on for a prepared statement for as long as the connection lives, until the
statistics of a table in it change. A study's tables start empty, so the plans chosen in its first
seconds are sequential scans (right for a few hundred rows), and they stayed while the tables grew:
the rater's session scanned every item, and for each of its own every judgment (seen with
auto_explain under the load test; its session statement took 1.6 ms at 3,000 judgments instead of
0.1 ms, and PostgreSQL spent 4.4 ms of CPU per judgment instead of 1.8). Autovacuum analyzes a table
once a tenth of it has changed, but looks only once a minute (autovacuum_naptime), and a crowd that
arrives at once meets the first minutes. So every top-up of the queue (evalplat.rating.scheduling.refill)
analyzes the rating tables that have doubled since their statistics were taken: a handful of
ANALYZEs of small tables over a study's life, and none once autovacuum's tenth comes first.
"""
import logging

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from evalplat.rating.models import Assignment, Judgment, Rater

log = logging.getLogger(__name__)

TABLES = tuple(model._meta.db_table for model in (Assignment, Judgment, Rater))
GROWTH = 2  # analyze a table once its live rows are this many times what its statistics say
SMALLEST = 200  # rows: below this any plan is cheap, and a new database is not analyzed at every top-up


def stale_tables(connection):
    """The rating tables whose live rows (the statistics collector's count, current to within a second)
    have outgrown what the planner's statistics (pg_class.reltuples) say, by GROWTH."""
    with connection.cursor() as cursor:
        # The tables as the search path finds them (::regclass), and the collector's function rather than
        # the pg_stat_user_tables view, which joins every table's counters.
        cursor.execute(
            "SELECT relname FROM pg_class WHERE oid = ANY(%s::regclass[]) AND pg_stat_get_live_tuples(oid) >= %s "
            "AND pg_stat_get_live_tuples(oid) > %s * GREATEST(reltuples, 0)",
            [list(TABLES), SMALLEST, GROWTH])
        return [name for (name,) in cursor.fetchall()]


def analyze_grown_tables():
    """ANALYZE the rating tables that have doubled (PostgreSQL only; outside a transaction, which would hold
    the table's ShareUpdateExclusiveLock until it ended). SKIP_LOCKED: one that autovacuum is analyzing
    is left to it. Returns the tables analyzed."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return []
    try:
        stale = stale_tables(connection)
        if stale:
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE (SKIP_LOCKED) " + ", ".join(connection.ops.quote_name(name) for name in stale))
    except DatabaseError:
        # Statistics only steer plans: a failure here must not fail the request that topped the queue up.
        log.exception("analyzing the rating tables %s failed", TABLES)
        return []
    return stale
