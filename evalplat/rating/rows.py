"""Hand-written SQL for the statements every rater request runs, built back into model instances.

Why not the ORM here: with hundreds of raters on a small machine the rater pages are CPU-bound,
and building and compiling a queryset cost about 0.5–1 ms a statement, more than half of a
judgment's CPU (README "Serving"). These statements never change shape, so their SQL is written
once, from the models' own table and column names, and their rows become ordinary model
instances (each value through its field's database converters, as the ORM makes them; see
Columns.build), so the models' methods work on them unchanged. The writes of the loop, the claim and
the judgment, are here too; everything else stays with the ORM.

Each function names the rows it reads; tests/rating/test_rows.py checks that what they build
equals what the equivalent queryset loads, on PostgreSQL and SQLite.
"""
import re
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import signals
from django.db.models.base import ModelState

from evalplat.experiments.models import Experiment, Query
from evalplat.generation.models import Answer
from evalplat.rating.models import Assignment, Invite, Judgment, RatingQueue, Rater

DONE = (Assignment.Status.JUDGED, Assignment.Status.SKIPPED)


def _database():
    """This thread's connection itself: every attribute of the `connection` proxy is looked up
    through a context-local, which costs more than most of what these functions do."""
    return connections[DEFAULT_DB_ALIAS]


def _quoted(name):
    return _database().ops.quote_name(name)


class Columns:
    """Some (or all) of a model's columns under a table alias in a SELECT, and the instance made back from them."""

    def __init__(self, model, alias, names=None):
        meta = model._meta
        self.model, self.alias = model, alias
        # In the model's own order, the primary key included: Model.from_db takes a subset of the
        # fields in that order (and defers the rest).
        wanted = {meta.get_field(name) for name in names or ()} | {meta.pk}
        self.fields = [field for field in meta.concrete_fields if not names or field in wanted]
        self.attnames = [field.attname for field in self.fields]
        self.width = len(self.fields)
        self._converters = {}

    @property
    def sql(self):
        prefix = f"{self.alias}." if self.alias else ""  # no alias: unqualified, as RETURNING takes them
        return ", ".join(f"{prefix}{_quoted(field.column)}" for field in self.fields)

    def converters(self, connection):
        """Per column, the backend's and the field's converters, as the ORM's compiler applies them.

        Kept per vendor, not per connection: the backend's converters are methods of the first
        thread's connection, and read only settings (the time zone) from it."""
        vendor = connection.vendor
        if vendor not in self._converters:
            columns = []
            for field in self.fields:
                column = field.get_col(self.alias)
                columns.append(connection.ops.get_db_converters(column) + column.get_db_converters(connection))
            self._converters[vendor] = [(index, found, field.get_col(self.alias))
                                        for index, (found, field) in enumerate(zip(columns, self.fields)) if found]
        return self._converters[vendor]

    def build(self, connection, row, start=0):
        """The instance from row[start:start + width]; None when its primary key is NULL (an outer join's miss).

        Made as unpickling makes a model instance (its field values into a bare object's __dict__, a
        fresh ModelState), not through Model.__init__: 40 of a session's items took 1.06 ms that way
        against 0.09 ms. The columns left out are deferred, exactly as with from_db. __init__ also
        sends pre_init and post_init, so a model that has receivers for them goes through from_db."""
        values = list(row[start:start + self.width])
        if values[0] is None:
            return None
        for index, found, column in self.converters(connection):
            for convert in found:
                values[index] = convert(values[index], column, connection)
        model = self.model
        if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
            return model.from_db(connection.alias, self.attnames, values)
        instance = model.__new__(model)
        instance.__dict__.update(zip(self.attnames, values))
        state = instance._state = ModelState()
        state.adding, state.db = False, connection.alias
        return instance


def _cache(instance, name, value):
    """Set a related object as select_related would (forward FK or reverse one-to-one)."""
    instance._meta.get_field(name).set_cached_value(instance, value)


def _table(model):
    return _quoted(model._meta.db_table)


def _column(model, name):
    return _quoted(model._meta.get_field(name).column)


# The experiment's columns a rater page reads (not the design text, alias report or templates).
EXPERIMENT_FIELDS = ("slug", "status", "question", "rating")
RATER = Columns(Rater, "r")
EXPERIMENT = Columns(Experiment, "e", EXPERIMENT_FIELDS)
INVITE = Columns(Invite, "i")
QUEUE = Columns(RatingQueue, "q")


def rater(public_id, *, lock=False):
    """The rater with this public id, its experiment, invite and the experiment's queue; None if there is none.

    `lock`: under the rater's row lock (call inside a transaction), which serialises their tabs.
    """
    connection = _database()
    with connection.cursor() as cursor:
        cursor.execute(_rater_sql(connection.vendor, lock), [public_id])
        row = cursor.fetchone()
    if row is None:
        return None
    found = RATER.build(connection, row)
    experiment = EXPERIMENT.build(connection, row, RATER.width)
    start = RATER.width + EXPERIMENT.width
    _cache(found, "experiment", experiment)
    _cache(found, "invite", INVITE.build(connection, row, start))
    _cache(experiment, "rating_queue", QUEUE.build(connection, row, start + INVITE.width))
    return found


@cache
def _rater_sql(vendor, lock):
    sql = (f"SELECT {RATER.sql}, {EXPERIMENT.sql}, {INVITE.sql}, {QUEUE.sql} FROM {_table(Rater)} r "
           f"INNER JOIN {_table(Experiment)} e ON r.{_column(Rater, 'experiment')} = e.{_column(Experiment, 'id')} "
           f"LEFT OUTER JOIN {_table(Invite)} i ON r.{_column(Rater, 'invite')} = i.{_column(Invite, 'id')} "
           f"LEFT OUTER JOIN {_table(RatingQueue)} q ON q.{_column(RatingQueue, 'experiment')} = e.{_column(Experiment, 'id')} "
           f"WHERE r.{_column(Rater, 'public_id')} = %s")
    features = _database().features
    if lock and features.has_select_for_update:
        sql += " FOR UPDATE OF r" if features.has_select_for_update_of else " FOR UPDATE"
    return sql


ITEM = Columns(Assignment, "a")
QUERY_TEXT = Columns(Query, "qt", ("text",))
LEFT_TEXT = Columns(Answer, "la", ("text",))
RIGHT_TEXT = Columns(Answer, "ra", ("text",))


def item(public_id, rater_id):
    """(the rater's assignment with this public id, with its query's and answers' texts, and how many items the
    rater has finished), or (None, 0) when the rater has no such item."""
    connection = _database()
    with connection.cursor() as cursor:
        cursor.execute(_item_sql(connection.vendor), [rater_id, *DONE, public_id, rater_id])
        row = cursor.fetchone()
    if row is None:
        return None, 0
    assignment = ITEM.build(connection, row)
    start = ITEM.width
    for name, columns in (("query", QUERY_TEXT), ("left_answer", LEFT_TEXT), ("right_answer", RIGHT_TEXT)):
        _cache(assignment, name, columns.build(connection, row, start))
        start += columns.width
    return assignment, row[start]


@cache
def _item_sql(vendor):
    assignments = _table(Assignment)
    return (f"SELECT {ITEM.sql}, {QUERY_TEXT.sql}, {LEFT_TEXT.sql}, {RIGHT_TEXT.sql}, "
           f"(SELECT COUNT(*) FROM {assignments} d WHERE d.{_column(Assignment, 'rater')} = %s "
           f"AND d.{_column(Assignment, 'status')} IN (%s, %s)) "
           f"FROM {assignments} a "
           f"INNER JOIN {_table(Query)} qt ON a.{_column(Assignment, 'query')} = qt.{_column(Query, 'id')} "
           f"INNER JOIN {_table(Answer)} la ON a.{_column(Assignment, 'left_answer')} = la.{_column(Answer, 'id')} "
           f"INNER JOIN {_table(Answer)} ra ON a.{_column(Assignment, 'right_answer')} = ra.{_column(Answer, 'id')} "
           f"WHERE a.{_column(Assignment, 'public_id')} = %s AND a.{_column(Assignment, 'rater')} = %s")


# Fields of a rater's own items that the views and the claim need. No timestamps: each one is parsed
# in Python (Django's time-zone loader), 80 of them were half the CPU of loading a 40-item session;
# what the session needs of them, each judged item's time on item, is the judgment's own
# time_on_item_ms (computed from the same two timestamps when it was stored).
SESSION_FIELDS = ("public_id", "status", "kind", "cell", "query", "position", "is_gold", "gold_better")
SESSION_ITEM = Columns(Assignment, "a", SESSION_FIELDS)


def session_items(rater_id):
    """The rater's own assignments (SESSION_FIELDS, and `judged_in_ms`: a judged item's time on item, else
    None), first position first."""
    connection = _database()
    with connection.cursor() as cursor:
        cursor.execute(_session_sql(connection.vendor), [rater_id])
        items = []
        for row in cursor.fetchall():
            item = SESSION_ITEM.build(connection, row)
            item.judged_in_ms = row[SESSION_ITEM.width]
            items.append(item)
        return items


@cache
def _session_sql(vendor):
    judged_in = (f"(SELECT MIN(j.{_column(Judgment, 'time_on_item_ms')}) FROM {_table(Judgment)} j "
                 f"WHERE j.{_column(Judgment, 'assignment')} = a.{_column(Assignment, 'id')})")
    return (f"SELECT {SESSION_ITEM.sql}, {judged_in} FROM {_table(Assignment)} a "
            f"WHERE a.{_column(Assignment, 'rater')} = %s ORDER BY a.{_column(Assignment, 'position')}")


def claim(*, experiment_id, rater_id, position, public_id, issued_at, expires_at, gold, avoid_cells=(),
          avoid_queries=(), met_queries=()):
    """Give the rater the first queued item no other claim holds, in one UPDATE; whether one was given.

    UPDATE … WHERE id = (SELECT … LIMIT 1 FOR UPDATE SKIP LOCKED): a scalar subquery (for a planned
    item, two under COALESCE), run once (with `id IN (…)` PostgreSQL may run it again per row and
    take more than one). `gold`: an
    attention item, those on a query outside `met_queries` first; otherwise a planned
    item outside `avoid_cells` and `avoid_queries`, reissued items first. Only items whose two
    answers are still rateable. The status condition keeps it correct where the row lock is a
    no-op (SQLite, where the transaction holds the database's write lock instead).
    """
    connection = _database()
    adapt = connection.ops.adapt_datetimefield_value
    given = [rater_id, position, Assignment.Status.ISSUED, public_id, adapt(issued_at), adapt(expires_at)]
    lists = (list(met_queries),) if gold else (list(avoid_cells), list(avoid_queries))
    arrays = connection.vendor == "postgresql"
    if arrays:
        shape, listed = None, lists
    else:
        shape, listed = tuple(map(len, lists)), [value for values in lists for value in values]
    if gold:
        chosen = [experiment_id, Assignment.Kind.GOLD, *listed]
    else:
        chosen = [experiment_id, Assignment.Kind.REISSUE, *listed, experiment_id, Assignment.Kind.GOLD, *listed]
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(connection.vendor, gold, shape), [*given, *chosen, Assignment.Status.QUEUED])
        return cursor.rowcount == 1


def _code(value):
    """A code's constant (a choice's stored value), checked fit to stand quoted in a statement's text."""
    if not re.fullmatch(r"[a-z_]+", value):
        raise ValueError(f"not a plain code: {value!r}")
    return value


def _placeholders(count):
    return ", ".join(["%s"] * count)


def _one_of(column, count, *, negated=False):
    """`column` [NOT] IN the listed values: one array parameter where the database has arrays (`count`
    None), so that the statement's text is the same for every rater and can be prepared; otherwise
    `count` placeholders, the empty list written out as the constant it is."""
    if count is None:
        return f"{column} <> ALL(%s)" if negated else f"{column} = ANY(%s)"
    if not count:
        return "1 = 1" if negated else "1 = 0"
    return f"{column} {'NOT IN' if negated else 'IN'} ({_placeholders(count)})"


@cache
def _claim_sql(vendor, gold, shape):
    """The claim's UPDATE: gold (queries met) or not (cells and queries to avoid); `shape`: the lists'
    lengths, or None for one array parameter per list (PostgreSQL). Parameters: what is given,
    then the experiment and the candidate's conditions in order, then QUEUED (for a planned item
    the experiment and the conditions come twice: reissues, then any)."""
    assignments = _table(Assignment)
    kind, query = f"c.{_column(Assignment, 'kind')}", f"c.{_column(Assignment, 'query')}"
    if gold:
        (met,) = shape or (None,)
        # Few attention items are queued, so ordering them all is cheap.
        chosen = _candidate([f"{kind} = %s"], order=f"CASE WHEN {_one_of(query, met)} THEN 1 ELSE 0 END, ")
    else:
        cells, queries = shape or (None, None)
        rules = [_one_of(f"c.{_column(Assignment, 'cell')}", cells, negated=True), _one_of(query, queries, negated=True)]
        # Reissues first, as two scalar subqueries rather than one ORDER BY on the kind: each walks the
        # queue's index in id order and stops at the first suitable row, where the ORDER BY sorted
        # every queued row (with both answers looked up) on every claim. COALESCE runs the second
        # only when the first found nothing.
        chosen = (f"COALESCE({_candidate([f'{kind} = %s', *rules])}, "
                  f"{_candidate([f'{kind} <> %s', *rules])})")
    given = ("rater", "position", "status", "public_id", "issued_at", "expires_at")
    return (f"UPDATE {assignments} SET {', '.join(f'{_column(Assignment, name)} = %s' for name in given)} "
            f"WHERE {_column(Assignment, 'id')} = {chosen} AND {_column(Assignment, 'status')} = %s")


def _candidate(rules, *, order=""):
    """The first queued item of the experiment meeting `rules` whose answers are still rateable, under a
    row lock no other claim holds, as a scalar subquery. Parameters: the experiment, the rules'.

    The status is written into the statement, not passed: only then does a prepared statement's
    generic plan (PostgreSQL's, after five runs) know that the queue's partial index (status
    "queued") applies. With a parameter it walked the primary key in id order through the whole
    history to the queued rows at its end: 47 ms a claim at 50,000 judgments.
    """
    assignments, answers = _table(Assignment), _table(Answer)
    excluded = _column(Answer, "excluded")
    where = [f"c.{_column(Assignment, 'status')} = '{_code(Assignment.Status.QUEUED)}'",
             f"c.{_column(Assignment, 'experiment')} = %s",
             f"NOT la.{excluded}", f"NOT ra.{excluded}", *rules]
    lock, features = "", _database().features
    if features.has_select_for_update_skip_locked:
        lock = " FOR UPDATE OF c SKIP LOCKED" if features.has_select_for_update_of else " FOR UPDATE SKIP LOCKED"
    return (f"(SELECT c.{_column(Assignment, 'id')} FROM {assignments} c "
            f"INNER JOIN {answers} la ON c.{_column(Assignment, 'left_answer')} = la.{_column(Answer, 'id')} "
            f"INNER JOIN {answers} ra ON c.{_column(Assignment, 'right_answer')} = ra.{_column(Answer, 'id')} "
            f"WHERE {' AND '.join(where)} ORDER BY {order}c.{_column(Assignment, 'id')} LIMIT 1{lock})")


ISSUED_AT = Columns(Assignment, None, ("issued_at",))


def finish(assignment_id, *, finished_at):
    """Mark an issued (or expired) item judged, unless a simultaneous submit did first: (whether this call
    did, the item's issued_at). One conditional UPDATE lets exactly one of two simultaneous submits
    through; it returns issued_at, which the session's rows leave out, for the time on item."""
    connection = _database()
    with connection.cursor() as cursor:
        cursor.execute(_finish_sql(connection.vendor),
                       [Assignment.Status.JUDGED, connection.ops.adapt_datetimefield_value(finished_at),
                        assignment_id, Assignment.Status.ISSUED, Assignment.Status.EXPIRED])
        row = cursor.fetchone()
    return (False, None) if row is None else (True, ISSUED_AT.build(connection, row).issued_at)


def insert_judgments(judgments):
    """Write unsaved Judgment instances in one INSERT (in the caller's transaction, after `finish`); returns
    them with their ids."""
    connection = _database()
    with connection.cursor() as cursor:
        sql, returning = _judgments_sql(connection.vendor, len(judgments))
        cursor.execute(sql, [value for judgment in judgments for value in _judgment_values(connection, judgment)])
        if returning:
            for judgment, (pk,) in zip(judgments, cursor.fetchall()):
                judgment.pk = pk
                judgment._state.adding, judgment._state.db = False, connection.alias
    return judgments


JUDGMENT_FIELDS = [field for field in Judgment._meta.concrete_fields if not field.primary_key]


def _judgment_values(connection, judgment):
    return [field.get_db_prep_save(field.pre_save(judgment, add=True), connection) for field in JUDGMENT_FIELDS]


@cache
def _finish_sql(vendor):
    status = _column(Assignment, "status")
    return (f"UPDATE {_table(Assignment)} SET {status} = %s, {_column(Assignment, 'finished_at')} = %s "
            f"WHERE {_column(Assignment, 'id')} = %s AND {status} IN (%s, %s) RETURNING {ISSUED_AT.sql}")


@cache
def _judgments_sql(vendor, count):
    """The INSERT of `count` judgments, and whether it returns their ids (RETURNING, where the database has it)."""
    columns = ", ".join(_quoted(field.column) for field in JUDGMENT_FIELDS)
    row = f"({_placeholders(len(JUDGMENT_FIELDS))})"
    sql = f"INSERT INTO {_table(Judgment)} ({columns}) VALUES {', '.join([row] * count)}"
    returning = _database().features.can_return_rows_from_bulk_insert
    if returning:
        sql += f" RETURNING {_column(Judgment, 'id')}"
    return sql, returning
