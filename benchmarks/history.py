"""Fill an experiment with a realistic history of judgments, fast (bulk inserts through the ORM).

Used by the load harness (benchmarks/load_raters.py) and the query-count tests: the
items come from the real pair scheduler (designs.schedule.plan_pairs) at the
design's per-rater count and overlap (a block of 4,000, repeated with new raters), so the queue's refills see the tallies a
real study would have produced. Second ratings are marked as REPLICA of an
earlier judgment of the same cell by another rater, at the design's overlap.
Times on item are 15–45 s, so no simulated rater of the history counts as too fast.
"""
import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from designs.schedule import ScheduledItem, plan_pairs, wants_replica
from evalplat.rating.models import Assignment, Judgment, Rater, cell_key
from evalplat.rating.scheduling import Layout

BATCH = 2000
BLOCK = 4000  # items the scheduler plans; a longer history repeats them with new raters


@transaction.atomic
def load_history(experiment, n_judgments, *, seed=0):
    """Add `n_judgments` judged items by new raters to `experiment`; returns the number added."""
    rng = random.Random(seed)
    layout = Layout.load(experiment)
    rating = experiment.rating_settings
    # The scheduler lays out one block (a whole number of sessions); larger histories repeat it with
    # new raters: the tallies stay those of a balanced schedule, and 50,000 judgments load in seconds.
    block = plan_pairs(layout.runs, layout.levels, len(layout.query_ids), min(n_judgments, BLOCK), seed=seed,
                       per_rater=rating.per_rater, overlap=rating.overlap)
    block_raters = max(item.rater for item in block) + 1
    items = [ScheduledItem(item.rater + repeat * block_raters, item.query, item.left, item.right)
             for repeat in range(-(-n_judgments // len(block))) for item in block][:n_judgments]
    now = timezone.now()
    raters = Rater.objects.bulk_create(
        [Rater(experiment=experiment, external_id=f"history-{seed}-{n}", status=Rater.Status.FINISHED,
               consented_at=now, finished_at=now) for n in range(max(item.rater for item in items) + 1)],
        batch_size=BATCH)
    started = now - timedelta(seconds=30 * len(items))
    positions, rows = {}, []
    for n, item in enumerate(items):
        position = positions[item.rater] = positions.get(item.rater, -1) + 1
        shown = started + timedelta(seconds=30 * n)
        rows.append(Assignment(
            experiment=experiment, rater=raters[item.rater], query_id=layout.query_ids[item.query],
            left_answer_id=rng.choice(layout.answers[item.left, item.query]),
            right_answer_id=rng.choice(layout.answers[item.right, item.query]),
            cell=cell_key(layout.query_ids[item.query], layout.variant_ids[item.left], layout.variant_ids[item.right]),
            position=position, status=Assignment.Status.JUDGED, issued_at=shown,
            expires_at=shown + timedelta(minutes=30), finished_at=shown + timedelta(seconds=rng.uniform(15, 45))))
    created = Assignment.objects.bulk_create(rows, batch_size=BATCH)
    _mark_replicas(items, created, rating.overlap)
    Judgment.objects.bulk_create(
        [Judgment(assignment=a, winner=rng.choice(["left", "right", "tie"]), strength=rng.choice([1, 2]),
                  time_on_item_ms=int((a.finished_at - a.issued_at).total_seconds() * 1000)) for a in created],
        batch_size=BATCH)
    return len(created)


def _mark_replicas(items, created, overlap):
    """Second ratings: a repeat of a cell judged earlier by another rater, kept at the design's overlap."""
    first_of_cell, replicas, n_replicas = {}, [], 0
    for n, (item, assignment) in enumerate(zip(items, created)):
        earlier = first_of_cell.get(assignment.cell)
        if (earlier is not None and earlier.rater_id != assignment.rater_id
                and wants_replica(n, n_replicas, overlap)):
            assignment.kind, assignment.source = Assignment.Kind.REPLICA, earlier
            replicas.append(assignment)
            n_replicas += 1
            del first_of_cell[assignment.cell]  # one second rating per item
        elif earlier is None:
            first_of_cell[assignment.cell] = assignment
    Assignment.objects.bulk_update(replicas, ["kind", "source"], batch_size=500)
