"""The queue's top-ups keep PostgreSQL's statistics of the rating tables current while they grow
(evalplat.rating.planner_statistics), so that a prepared statement's plan chosen on a new study's
nearly empty tables is replaced once they have grown."""
import pytest
from django.db import connection

from benchmarks.history import load_history
from evalplat.rating import planner_statistics, rows
from evalplat.rating.models import Assignment, Judgment
from evalplat.rating.scheduling import refill
from tests.rating.postgres import under_postgresql

pytestmark = pytest.mark.django_db(transaction=True)  # ANALYZE runs outside a transaction, as in a request


def _flush_and_read(sql, params=()):
    """Run `sql` after this backend has published its row counts (PostgreSQL sends them when idle, at
    most once a second, unless asked)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _statistics_rows(model):
    return _flush_and_read("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])[0][0]


def _session_plan():
    """EXPLAIN of the rater's session statement, prepared once on this connection and kept (as psycopg keeps
    it), with a generic plan."""
    return "\n".join(row[0] for row in _flush_and_read("EXPLAIN EXECUTE session_plan(1)"))


@under_postgresql
def test_a_top_up_analyzes_the_tables_that_have_doubled_and_then_leaves_them(rating_experiment):
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Assignment._meta.db_table}, {Judgment._meta.db_table}")
    before = _statistics_rows(Judgment)
    load_history(rating_experiment, 600, seed=1)
    _flush_and_read("SELECT 1")
    assert refill(rating_experiment) > 0
    judged = Judgment.objects.count()
    assert before < 200 <= judged and _statistics_rows(Judgment) == judged
    assert _statistics_rows(Assignment) == Assignment.objects.count()
    _flush_and_read("SELECT 1")
    assert planner_statistics.analyze_grown_tables() == []  # not doubled since


@under_postgresql
def test_a_plan_made_on_an_empty_table_is_replaced_once_the_table_has_grown(rating_experiment):
    """A generic plan made while the tables are nearly empty scans them whole, the judgments once per item;
    the analysis after they have grown makes PostgreSQL plan the prepared statement again, by its indexes."""
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Assignment._meta.db_table}, {Judgment._meta.db_table}")
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        sql = rows._session_sql("postgresql").replace("%s", "$1")
        cursor.execute(f"PREPARE session_plan AS {sql}")
    try:
        assert "Seq Scan on rating_judgment" in _session_plan()
        load_history(rating_experiment, 3000, seed=1)
        assert "Seq Scan on rating_judgment" in _session_plan()  # kept while nothing analyzes the tables
        assert set(planner_statistics.analyze_grown_tables()) >= {Assignment._meta.db_table, Judgment._meta.db_table}
        plan = _session_plan()
        assert "Seq Scan" not in plan and "Index" in plan, plan
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DEALLOCATE session_plan")
            cursor.execute("RESET plan_cache_mode")


def test_nothing_is_analyzed_inside_a_transaction_or_on_sqlite(rating_experiment):
    from django.db import transaction
    with transaction.atomic():
        assert planner_statistics.analyze_grown_tables() == []
    if connection.vendor == "sqlite":
        load_history(rating_experiment, 300, seed=1)
        assert planner_statistics.analyze_grown_tables() == []
