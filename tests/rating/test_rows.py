"""The rater pages' hand-written SQL (evalplat.rating.rows) loads what the ORM would, on either database.

Each test builds the same rows through the ORM and through rows.py and compares field by
field, including the values that need a converter (JSON, datetimes, booleans on SQLite) and
the related objects a page reads, and checks the claim's rules one at a time.
"""
import re
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import signals
from django.utils import timezone

from benchmarks.history import load_history
from evalplat.generation.models import Answer
from evalplat.rating import rows
from evalplat.rating.models import Assignment, Invite, RatingQueue, Rater
from evalplat.rating.scheduling import refill
from tests.rating.postgres import under_postgresql

pytestmark = pytest.mark.django_db


def values(instance, fields):
    return {field.attname: getattr(instance, field.attname) for field in fields}


def same_row(built, loaded, columns):
    assert type(built) is type(loaded)
    assert values(built, columns.fields) == values(loaded, columns.fields)


@pytest.fixture
def rater(rating_experiment):
    invite = Invite.objects.create(experiment=rating_experiment, platform=Invite.Platform.PROLIFIC)
    return Rater.objects.create(experiment=rating_experiment, invite=invite, external_id="p-1",
                                platform_params={"PROLIFIC_PID": "p-1", "STUDY_ID": "s"},
                                consented_at=timezone.now(), too_fast=True, gold_failures=2)


@pytest.mark.parametrize("lock", [False, True])
def test_a_rater_with_experiment_invite_and_queue_as_select_related_loads_them(rater, lock):
    refill(rater.experiment)
    with transaction.atomic():
        built = rows.rater(rater.public_id, lock=lock)
    loaded = Rater.objects.select_related("experiment", "invite", "experiment__rating_queue").get(pk=rater.pk)
    same_row(built, loaded, rows.RATER)
    assert built.platform_params == {"PROLIFIC_PID": "p-1", "STUDY_ID": "s"} and built.too_fast is True
    assert built.consented_at == loaded.consented_at and built.consented_at.tzinfo is not None
    same_row(built.experiment, loaded.experiment, rows.EXPERIMENT)
    same_row(built.invite, loaded.invite, rows.INVITE)
    same_row(built.experiment.rating_queue, loaded.experiment.rating_queue, rows.QUEUE)
    # What the pages read, without another query.
    assert built.experiment.rating_settings == loaded.experiment.rating_settings
    assert built.refusal() == loaded.refusal() == ""


def test_a_rater_without_invite_or_queue_and_an_unknown_one(rating_experiment, django_assert_num_queries):
    bare = Rater.objects.create(experiment=rating_experiment)
    with django_assert_num_queries(1):
        built = rows.rater(bare.public_id)
        assert built.invite is None
        with pytest.raises(RatingQueue.DoesNotExist):
            built.experiment.rating_queue
    assert rows.rater("no-such-rater") is None


def test_an_item_with_its_texts_and_the_raters_progress(rater, django_assert_num_queries):
    refill(rater.experiment)
    queued = list(Assignment.objects.queued().filter(is_gold=False).order_by("id")[:3])
    for position, assignment in enumerate(queued):
        Assignment.objects.filter(pk=assignment.pk).update(rater=rater, position=position,
                                                           status=Assignment.Status.ISSUED, issued_at=timezone.now())
    Assignment.objects.filter(pk=queued[0].pk).update(status=Assignment.Status.JUDGED)
    Assignment.objects.filter(pk=queued[1].pk).update(status=Assignment.Status.SKIPPED)
    mine = Assignment.objects.select_related("query", "left_answer", "right_answer").get(pk=queued[2].pk)
    with django_assert_num_queries(1):
        built, done = rows.item(mine.public_id, rater.pk)
        assert (built.query.text, built.left_answer.text, built.right_answer.text) == \
            (mine.query.text, mine.left_answer.text, mine.right_answer.text)
    same_row(built, mine, rows.ITEM)
    assert done == 2 == rater.assignments.done().count()
    other = Rater.objects.create(experiment=rater.experiment)
    assert rows.item(mine.public_id, other.pk) == (None, 0)  # an item is found only for its own rater


def test_session_items_are_the_raters_own_in_position_order(rater):
    refill(rater.experiment)
    queued = list(Assignment.objects.queued().order_by("-id")[:4])
    for position, assignment in zip([2, 0, 3, 1], queued):
        Assignment.objects.filter(pk=assignment.pk).update(rater=rater, position=position,
                                                           status=Assignment.Status.ISSUED, issued_at=timezone.now())
    first, second = Assignment.objects.filter(rater=rater).order_by("position")[:2]
    with transaction.atomic():
        first.record_judgment(answers=[("", "left", 1)], both_bad=False, rationale="")
    Assignment.objects.filter(pk=first.pk).update(issued_at=first.issued_at - timedelta(seconds=7))  # stored already
    with transaction.atomic():
        second.report_problem("unreadable", "")
    loaded = list(Assignment.objects.filter(rater=rater).order_by("position"))
    built = rows.session_items(rater.pk)
    assert [a.position for a in built] == [0, 1, 2, 3]
    for one, other in zip(built, loaded):
        same_row(one, other, rows.SESSION_ITEM)
    # A judged item's time on item is its judgment's (what was computed when it was stored); others have none.
    assert [a.judged_in_ms for a in built] == [first.judgments.get().time_on_item_ms, None, None, None]
    # What was left out is deferred, as with .only(): read from the database when asked for.
    assert "issued_at" in built[0].get_deferred_fields() and built[0].issued_at == loaded[0].issued_at


def test_a_model_with_init_receivers_is_built_through_its_constructor(rater):
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    signals.post_init.connect(receiver, sender=Rater)
    try:
        built = rows.rater(rater.public_id)
    finally:
        signals.post_init.disconnect(receiver, sender=Rater)
    assert seen == [built] and built.external_id == "p-1"


def test_finishing_an_item_once_returns_its_issue_time(rater):
    refill(rater.experiment)
    issued_at = timezone.now() - timedelta(seconds=30)
    item = Assignment.objects.queued().filter(is_gold=False).first()
    Assignment.objects.filter(pk=item.pk).update(rater=rater, position=0, status=Assignment.Status.ISSUED,
                                                 issued_at=issued_at)
    with transaction.atomic():
        assert rows.finish(item.pk, finished_at=timezone.now()) == (True, issued_at)
        assert rows.finish(item.pk, finished_at=timezone.now()) == (False, None)  # a simultaneous second submit
    assert Assignment.objects.get(pk=item.pk).status == Assignment.Status.JUDGED


def claim(rater, **rules):
    now = timezone.now()
    public_id = f"claimed-{Assignment.objects.filter(rater=rater).count()}"
    with transaction.atomic():
        given = rows.claim(experiment_id=rater.experiment_id, rater_id=rater.pk,
                           position=Assignment.objects.filter(rater=rater).count(), public_id=public_id,
                           issued_at=now, expires_at=now + timedelta(minutes=5), **rules)
    return Assignment.objects.get(public_id=public_id) if given else None


def test_a_claim_takes_the_first_suitable_queued_item_and_keeps_every_rule(rater):
    refill(rater.experiment)
    queued = Assignment.objects.queued().filter(experiment=rater.experiment)
    pairs = list(queued.exclude(kind=Assignment.Kind.GOLD).order_by("id"))
    first = claim(rater, gold=False)
    assert first.pk == pairs[0].pk and first.rater == rater and first.status == Assignment.Status.ISSUED
    assert first.issued_at is not None and first.expires_at > first.issued_at and first.position == 0
    # Cells and queries to avoid are skipped; an item with an excluded answer is never handed out.
    avoided = claim(rater, gold=False, avoid_cells=[pairs[1].cell], avoid_queries=[pairs[2].query_id])
    expected = next(a for a in pairs[1:] if a.cell != pairs[1].cell and a.query_id != pairs[2].query_id)
    assert avoided.pk == expected.pk
    following = queued.exclude(kind=Assignment.Kind.GOLD).exclude(cell=pairs[1].cell).order_by("id").first()
    Answer.objects.filter(pk=following.left_answer_id).update(excluded=True)
    taken = claim(rater, gold=False, avoid_cells=[pairs[1].cell])
    assert taken.pk > following.pk
    assert not Answer.objects.filter(pk__in=[taken.left_answer_id, taken.right_answer_id], excluded=True).exists()
    # A reissued item goes first (one whose answers are still rateable: the exclusion above may have
    # hit an answer of the newest item too, and the answers filling a cell are chosen at random).
    reissue = (queued.exclude(kind=Assignment.Kind.GOLD)
               .exclude(left_answer__excluded=True).exclude(right_answer__excluded=True).order_by("-id").first())
    Assignment.objects.filter(pk=reissue.pk).update(kind=Assignment.Kind.REISSUE)
    assert claim(rater, gold=False).pk == reissue.pk


def test_a_gold_claim_prefers_a_query_the_rater_has_not_met(rater):
    refill(rater.experiment)
    gold = list(Assignment.objects.queued().filter(kind=Assignment.Kind.GOLD).order_by("id"))
    assert len({a.query_id for a in gold}) > 1
    met = [gold[0].query_id]
    taken = claim(rater, gold=True, met_queries=met)
    assert taken.is_gold and taken.query_id not in met
    assert claim(rater, gold=True).pk == min(a.pk for a in gold if a.pk != taken.pk)


def test_nothing_to_claim_gives_nothing(rater):
    assert claim(rater, gold=False) is None
    assert claim(rater, gold=True) is None


def _literal(value):
    """An argument of EXECUTE: untyped, so it takes the type PostgreSQL inferred for its parameter."""
    if isinstance(value, list):
        assert not value
        return "'{}'"
    return str(value) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"


@under_postgresql
def test_the_claims_generic_plans_find_the_queue_by_its_index_behind_a_long_history(rater):
    """PostgreSQL plans a prepared statement for any parameters after five runs (a generic plan). The
    claims must then still reach the queued rows through an index on them, not walk the history in id
    order to them (47 ms a claim at 50,000 judgments when the status was a parameter)."""
    load_history(rater.experiment, 3000, seed=2)
    refill(rater.experiment)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Assignment._meta.db_table}, {Answer._meta.db_table}")
    for gold in (False, True):
        plan = _generic_plan(rater, gold)
        assert plan.count("Limit") == (1 if gold else 2), plan
        # Each candidate scan starts from an index condition on the queued rows (the queue's partial index,
        # or the one by status), never from the whole table or the primary key's order.
        scans = re.findall(r"(\w+(?: \w+)*) on (rating_assignment c\w*)", plan)
        assert scans and not [kind for kind, _ in scans if kind in ("Seq Scan", "Index Scan using rating_assignment_pkey")], plan
        assert plan.count("status)::text = 'queued'::text)") + plan.count("Index Scan using rating_queue") >= len(scans), plan


def _generic_plan(rater, gold):
    """EXPLAIN of the claim's statement as PostgreSQL plans it for any parameters."""
    sql, count = rows._claim_sql("postgresql", gold, None), 0
    while "%s" in sql:
        count += 1
        sql = sql.replace("%s", f"${count}", 1)
    now = timezone.now().isoformat()
    experiment = rater.experiment_id
    chosen = [experiment, "gold", []] if gold else [experiment, "reissue", [], [], experiment, "gold", [], []]
    arguments = [rater.pk, 0, "issued", "plan-test", now, now, *chosen, "queued"]
    assert len(arguments) == count
    with connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_generic_plan")
        try:
            cursor.execute(f"PREPARE claim_plan AS {sql}")
            cursor.execute(f"EXPLAIN EXECUTE claim_plan({', '.join(_literal(a) for a in arguments)})")
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE claim_plan")
            cursor.execute("RESET plan_cache_mode")
