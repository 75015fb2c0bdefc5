"""A simulated crowd working through the rating queue, through the rating app's own code (no HTTP).

Raters arrive while others are mid-session, take items from the queue in turn, and some
leave mid-item (their item expires and is handed on) or report a problem. What the queue
handed out and got judged is then scored with designs.schedule.schedule_efficiency: the
efficiency of the *queue*, not only of the pure scheduler. Used by
benchmarks/bench_schedule.py and tests/rating/test_queue_efficiency.py.
"""
import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from designs.schedule import ScheduledItem, schedule_efficiency
from evalplat.rating.models import Assignment, RatingQueue, Rater
from evalplat.rating.scheduling import Layout, Session, next_item_id, refill


def run_crowd(experiment, n_judgments, *, active=30, leave=0.03, problems=0.02, seed=0):
    """Judge `n_judgments` items of `experiment` with `active` raters at a time; returns the efficiency per factor.

    A rater who leaves abandons their current item; it is expired by moving the clock past its
    deadline, and the next refill hands it on, as on a real study.
    """
    rng = random.Random(seed)
    raters = [_new_rater(experiment, n) for n in range(active)]
    arrived, judged = active, 0
    while judged < n_judgments:
        index = rng.randrange(len(raters))
        rater = raters[index]
        with transaction.atomic():
            rater = Rater.objects.select_related("experiment", "experiment__rating_queue").get(pk=rater.pk)
            session = Session.load(rater)
            public_id = next_item_id(session)
        if public_id is None:
            raters[index] = _new_rater(experiment, arrived)
            arrived += 1
            continue
        item = Assignment.objects.get(public_id=public_id)
        roll = rng.random()
        if roll < leave:
            Assignment.objects.filter(pk=item.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
            RatingQueue.objects.filter(experiment=experiment).update(refilled_at=None)  # a refill is due
            refill(experiment)
            raters[index] = _new_rater(experiment, arrived)
            arrived += 1
        elif roll < leave + problems:
            item.report_problem("unreadable", "")
        else:
            with transaction.atomic():
                if item.record_judgment(answers=[("", rng.choice(["left", "right", "tie"]), 1)], both_bad=False,
                                        rationale=""):
                    judged += 1
        queue = RatingQueue.objects.get(experiment=experiment)
        if queue.wants_refill(item, timezone.now()):
            refill(experiment, item)  # what the item page does after it is sent
    return queue_efficiency(experiment)


def queue_efficiency(experiment):
    """schedule_efficiency of the experiment's judged, non-attention items."""
    layout = Layout.load(experiment)
    rows = (Assignment.objects.filter(experiment=experiment, is_gold=False, status=Assignment.Status.JUDGED)
            .values_list("left_answer_id", "right_answer_id"))
    items = [ScheduledItem(0, *layout.indices(left, right)) for left, right in rows]
    return schedule_efficiency(layout.runs, layout.levels, items)


def _new_rater(experiment, n):
    return Rater.objects.create(experiment=experiment, external_id=f"crowd-{n}", consented_at=timezone.now())
