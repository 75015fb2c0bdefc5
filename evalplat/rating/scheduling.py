"""Which assignment a rater gets next: a queue of planned items, claimed in constant time.

Why a queue. The pair scheduler (designs.schedule) is pure: it needs the tallies
of everything handed out so far. Replaying the whole history into it on every
"next item" made a request cost O(history): 0.4–0.75 s at 50,000 judgments. Here
the scheduler runs once per *batch*: a refill rebuilds its state from one
aggregate query (a row per distinct (left answer, right answer), not per
judgment), plans enough items to fill the queue to RATING_QUEUE_SIZE for no
rater in particular (`PairScheduler.choose(None)`), and stores them as
assignments with status QUEUED and no rater. A rater's request then claims the
first queued item that their own constraints allow, which costs the same at
50,000 judgments as at none.

What a refill plans, in this order:
- abandoned items: an issued item whose rater went quiet for
  RATING_ASSIGNMENT_MINUTES is marked EXPIRED and queued again as a REISSUE copy
  (claimed before anything else), so the planned information is still collected;
  if its first rater comes back and answers after all, that judgment is stored too;
- planned pairs, with further ratings (REPLICA of a judged item, left and right
  swapped at random) interleaved so that a share `overlap` of items is judged by
  `raters_per_item` (k) raters: k - 1 numbered replicas per item, each claimable
  only by a rater who has not met the item's cell, so the k raters are different;
- a stock of attention items (GOLD: an answer to the query against an answer to
  another query) for the raters' gold slots.
Every queued and issued item counts as information already in the scheduler's
state, so the plan is the same sequence the pure scheduler would lay out; the
efficiency of what the queue hands out is measured in benchmarks/bench_schedule.py.

When it is refilled. A claim that reaches the second half of the newest batch
(`RatingQueue.refill_from_id`), or comes RATING_QUEUE_REFILL_SECONDS after the
last refill (which is also how abandoned items come back on a quiet study),
tops the queue up *after its response has been sent* (`RefillAfterResponse`),
so no rater waits for planning. Only a request that finds nothing it may claim
plans inline. One request plans at a time: the experiment's RatingQueue row is
the lock (SKIP LOCKED after a response: someone else is on it; a plain lock
inline: wait for their batch).

Claims and concurrency. A claim is `SELECT … FOR UPDATE SKIP LOCKED` of the
first queued row outside the rater's seen cells and capped queries, then a
conditional UPDATE that gives it to the rater: two raters never get the same
row, and neither waits for the other. The rater's own row lock serialises their
tabs, and unique constraints back each rule (one item per rater position, one
cell per rater, one copy of each kind per source). SQLite has no SKIP LOCKED:
there every transaction takes the write lock when it begins
(`transaction_mode = IMMEDIATE` in settings), so claims and refills run one at a
time, and the conditional UPDATE keeps a claim correct even without that.

Blinding: queued rows are never shown to a browser; the rater sees an item's
random `public_id` only once it is theirs.
"""
import hashlib
import logging
import math
import random
import statistics
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.utils import timezone

from designs.schedule import PairScheduler, ScheduledItem, is_gold_slot, wants_replica
from designs.spec import analysis_from_text
from evalplat.generation.models import Answer
from evalplat.rating import rows
from evalplat.rating.planner_statistics import analyze_grown_tables
from evalplat.rating.models import Assignment, RatingQueue, Rater, cell_key, new_token

log = logging.getLogger(__name__)
# Left/right of replicas and attention items, and which answers fill a cell,
# must not be predictable from anything a rater can see.
CHANCE = random.SystemRandom()


@dataclass
class Session:
    """A rater's own assignments, loaded once per request: what they have seen, done and hold open."""

    rater: Rater
    items: list = field(default_factory=list)

    @classmethod
    def load(cls, rater):
        return cls(rater, rows.session_items(rater.pk))

    def find(self, public_id):
        return next((a for a in self.items if a.public_id == public_id), None)

    @property
    def open_item(self):
        return next((a for a in self.items if a.status == Assignment.Status.ISSUED), None)

    @property
    def done(self):
        return sum(a.is_finished for a in self.items)

    @property
    def next_position(self):
        return len(self.items)

    @property
    def seen_cells(self):
        return [a.cell for a in self.items if not a.is_gold]

    def query_uses(self):
        uses = {}
        for a in self.items:
            if not a.is_gold:
                uses[a.query_id] = uses.get(a.query_id, 0) + 1
        return uses

    def too_fast(self):
        """Median server-side time on item below RATING_FAST_MEDIAN_SECONDS over enough judgments."""
        times = [a.judged_in_ms / 1000 for a in self.items
                 if a.status == Assignment.Status.JUDGED and a.judged_in_ms is not None]
        return (len(times) >= settings.RATING_FAST_MIN_ITEMS
                and statistics.median(times) < settings.RATING_FAST_MEDIAN_SECONDS)


def next_item_id(session):
    """The public id of the rater's open item or of one newly claimed; None when their session is over.

    Call inside a transaction holding the rater's lock (`rows.rater(..., lock=True)`).
    """
    rater = session.rater
    if not rater.is_active:
        return None
    current = session.open_item
    if current is not None:
        return current.public_id
    if session.done >= rater.experiment.rating_settings.per_rater:
        rater.finish()
        return None
    claimer = Claimer(session)
    public_id = claimer.claim()
    if public_id is None:
        # Nothing queued suits this rater: wait for whoever is planning, look again, and plan only if
        # still nothing (the first request of a study, or the end of a small pool).
        claimer.queue = lock_queue(rater.experiment, wait=True)
        public_id = claimer.claim()
        if public_id is None:
            planner = Planner(rater.experiment, claimer.queue)
            planner.top_up()
            public_id = claimer.claim() or planner.plan_for(session)
    if public_id is None:
        rater.finish()
    return public_id


class Claimer:
    """Gives one rater the first queued item their constraints allow, in one UPDATE."""

    def __init__(self, session):
        self.session = session
        self.rater = session.rater
        self.experiment = self.rater.experiment
        self.now = timezone.now()
        try:
            self.queue = self.experiment.rating_queue
        except RatingQueue.DoesNotExist:
            self.queue = None

    def claim(self):
        if self.queue is None:
            return None
        rating = self.experiment.rating_settings
        if is_gold_slot(self.session.next_position, rating.gold_rate, gold_offset(self.rater)):
            # Spread attention items over queries: one on a query the rater has not met yet where possible.
            gold = self._take(gold=True, met_queries=list(self.session.query_uses()))
            if gold is not None:
                return gold
        capped = [query for query, uses in self.session.query_uses().items() if uses >= self.queue.query_cap]
        return self._take(gold=False, avoid_cells=self.session.seen_cells, avoid_queries=capped)

    def _take(self, **candidates):
        """Give the rater the first queued item that suits them and no other claim holds; its new public id.

        The public id is minted here, so nothing a browser sees existed before the item was theirs.
        """
        public_id = new_token()
        claimed = rows.claim(experiment_id=self.experiment.pk, rater_id=self.rater.pk,
                             position=self.session.next_position, public_id=public_id, issued_at=self.now,
                             expires_at=self.now + timedelta(minutes=settings.RATING_ASSIGNMENT_MINUTES), **candidates)
        return public_id if claimed else None


def gold_offset(rater):
    # Per-rater shift so that raters meet attention items at different positions.
    digest = hashlib.sha256(rater.public_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


class RefillAfterResponse(HttpResponse):
    """A response that tops the experiment's queue up once the WSGI server has sent it (response.close()).

    The item page following a claim that reached the second half of the queue
    is one: the rater reads their item while the worker plans the next batch.
    """

    def __init__(self, *args, experiment, claimed, **kwargs):
        super().__init__(*args, **kwargs)
        self.experiment = experiment
        self.claimed = claimed

    def close(self):
        try:
            refill(self.experiment, self.claimed)
        except DatabaseError:
            # The page was sent; the next request that finds the queue low tops it up instead.
            log.exception("topping up the rating queue of %s failed", self.experiment.pk)
        finally:
            super().close()


def refill(experiment, claimed=None):
    """Top the experiment's queue up, unless another request is doing it or has just done it.

    `claimed`: the item whose claim asked for it; under the lock the (fresh) queue row
    decides again, so a burst of requests that all saw the queue low plans one batch.
    Returns the number of items planned. After a top-up, the rating tables that have doubled since
    PostgreSQL last took their statistics are analyzed (evalplat.rating.planner_statistics).
    """
    with transaction.atomic():
        queue = lock_queue(experiment, wait=False)
        if queue is None or (claimed is not None and not queue.wants_refill(claimed, timezone.now())):
            return 0
        planned = Planner(experiment, queue).top_up()
    analyze_grown_tables()
    return planned


def lock_queue(experiment, *, wait):
    """The experiment's RatingQueue row under its lock (made on first use); None if another request holds
    it and `wait` is off. Call inside a transaction."""
    queues = RatingQueue.objects.filter(experiment=experiment)
    queue = (queues.select_for_update() if wait else queues.select_for_update(skip_locked=True)).first()
    if queue is not None:
        return queue
    if not wait and queues.exists():
        return None  # another request is planning
    try:
        with transaction.atomic():
            RatingQueue.objects.create(experiment=experiment)
    except IntegrityError:
        pass  # made a moment ago by another request
    return queues.select_for_update().get()


@dataclass
class Layout:
    """The experiment as index arrays: what the pure scheduler works on."""

    runs: np.ndarray
    levels: list
    factor_names: list
    variant_ids: list
    query_ids: list
    answers: dict  # (variant index, query index) -> [answer id, ...]
    answer_cell: dict  # answer id -> (variant index, query index)

    @classmethod
    def load(cls, experiment):
        factors = list(experiment.factors.prefetch_related("levels"))
        variants = list(experiment.variants.prefetch_related("levels"))
        factor_column = {factor.pk: column for column, factor in enumerate(factors)}
        runs = np.zeros((len(variants), len(factors)), dtype=int)
        for row, variant in enumerate(variants):
            for level in variant.levels.all():
                runs[row, factor_column[level.factor_id]] = level.position
        variant_index = {variant.pk: row for row, variant in enumerate(variants)}
        query_ids = list(experiment.queries.values_list("pk", flat=True))
        query_index = {pk: column for column, pk in enumerate(query_ids)}
        answers, answer_cell = {}, {}
        rateable = Answer.objects.filter(experiment=experiment).usable()
        for pk, variant_id, query_id in rateable.values_list("pk", "variant_id", "query_id").order_by("pk"):
            cell = (variant_index[variant_id], query_index[query_id])
            answers.setdefault(cell, []).append(pk)
            answer_cell[pk] = cell
        return cls(runs, [len(f.levels.all()) for f in factors], [f.name for f in factors], [v.pk for v in variants],
                   query_ids, answers, answer_cell)

    def available(self):
        table = np.zeros((len(self.variant_ids), len(self.query_ids)), dtype=bool)
        for variant, query in self.answers:
            table[variant, query] = True
        return table

    def cell(self, query, left, right):
        """The stored cell key of (query index, variant index, variant index)."""
        return cell_key(self.query_ids[query], self.variant_ids[left], self.variant_ids[right])

    def indices(self, left_id, right_id):
        """(query, left, right) indices of an item from its answer ids; None if an answer was since excluded."""
        if left_id not in self.answer_cell or right_id not in self.answer_cell:
            return None
        (left, query), (right, _) = self.answer_cell[left_id], self.answer_cell[right_id]
        return query, left, right


class Planner:
    """Plans items for one experiment's queue; the caller holds its planning lock (`lock_queue`)."""

    def __init__(self, experiment, queue):
        self.experiment = experiment
        self.queue = queue
        self.rating = experiment.rating_settings
        self.now = timezone.now()
        self.layout = Layout.load(experiment)
        self.scheduler, self.n_items, self.n_replicas = self._rebuilt_scheduler()

    def _rebuilt_scheduler(self):
        """The scheduler's state from one aggregate over everything queued or handed out (not one row per judgment)."""
        layout = self.layout
        tallies = (Assignment.objects
                   .filter(experiment=self.experiment, is_gold=False,
                           status__in=[Assignment.Status.QUEUED, Assignment.Status.ISSUED, Assignment.Status.JUDGED])
                   .values("left_answer_id", "right_answer_id")
                   .annotate(n=Count("id"), replicas=Count("id", filter=Q(kind=Assignment.Kind.REPLICA)))
                   .order_by())
        rows, n_items, n_replicas = [], 0, 0
        for tally in tallies:
            n_items += tally["n"]
            n_replicas += tally["replicas"]
            indices = layout.indices(tally["left_answer_id"], tally["right_answer_id"])
            if indices is not None:
                rows.append((*indices, tally["n"]))
        n_queries = max(1, len(layout.query_ids))
        scheduler = PairScheduler(
            layout.runs, layout.levels, n_queries, seed=[self.experiment.pk, n_items],
            query_cap=self._query_cap(), available=layout.available() if layout.answers else None,
            interactions=analysis_from_text(self.experiment.design_text).interaction_indices(layout.factor_names),
        )
        if rows:
            queries, left, right, counts = np.array(rows).T
            scheduler.record_tallies(queries, left, right, counts)
        return scheduler, n_items, n_replicas

    def _query_cap(self):
        return math.ceil(self.rating.per_rater / max(1, len(self.layout.query_ids)))

    def top_up(self):
        """Queue abandoned items again, then planned pairs and replicas up to RATING_QUEUE_SIZE, then gold."""
        if not self.layout.answers:
            return 0
        queued = Assignment.objects.queued().filter(experiment=self.experiment)
        waiting_ids = sorted(queued.exclude(kind=Assignment.Kind.GOLD).values_list("id", flat=True))
        n_gold = queued.filter(kind=Assignment.Kind.GOLD).count()
        rows = self._reissues()
        rows += self._pairs(settings.RATING_QUEUE_SIZE - len(waiting_ids) - len(rows))
        gold_rows = self._gold(self._gold_stock() - n_gold)
        created = Assignment.objects.bulk_create(rows + gold_rows)
        ids = sorted(waiting_ids + [row.pk for row in created[:len(rows)]])
        # Top up again once about half of what is queued now has been claimed.
        self.queue.refill_from_id = ids[len(ids) // 2] if ids else 0
        self.queue.refilled_at = self.now
        self.queue.query_cap = self._query_cap()
        self.queue.planned += len(rows)
        self.queue.save(update_fields=["refill_from_id", "refilled_at", "query_cap", "planned", "replica_from_id"])
        return len(created)

    def _queued_copy(self, source, *, kind, left_id, right_id, replica_number=0):
        return Assignment(experiment=self.experiment, query_id=source.query_id, left_answer_id=left_id,
                          right_answer_id=right_id, cell=source.cell, kind=kind, source=source,
                          replica_number=replica_number, status=Assignment.Status.QUEUED)

    def _reissues(self):
        """Abandoned items, marked EXPIRED and queued again (they are counted already: no change in the tallies)."""
        abandoned = list(Assignment.objects.abandoned(self.now)
                         .filter(experiment=self.experiment, is_gold=False)
                         .select_for_update(skip_locked=True, of=("self",))
                         .only("id", "query_id", "left_answer_id", "right_answer_id", "cell"))
        if not abandoned:
            return []
        Assignment.objects.filter(pk__in=[a.pk for a in abandoned]).update(status=Assignment.Status.EXPIRED)
        return [self._queued_copy(a, kind=Assignment.Kind.REISSUE, left_id=a.left_answer_id,
                                  right_id=a.right_answer_id) for a in abandoned]

    def _pairs(self, wanted):
        """`wanted` planned items: new pairs from the scheduler, with replicas at the design's overlap."""
        if wanted <= 0:
            return []
        sources = self._replica_sources(wanted)
        rows = []
        for _ in range(wanted):
            if sources and wants_replica(self.n_items, self.n_replicas, self._replica_share()):
                rows.append(self._replica(sources.pop(0)))
                continue
            item = self.scheduler.choose(None)
            if item is None:
                break
            self.scheduler.record(item)
            self.n_items += 1
            rows.append(self._new(item))
        return rows

    def _replica_share(self):
        """Replicas per item judged once: `overlap` of the items get raters_per_item - 1 more raters each."""
        return self.rating.overlap * (self.rating.raters_per_item - 1)

    def _replica_sources(self, wanted):
        """(judged item, replica number) for the items still short of raters_per_item - 1 replicas (queued or
        given), oldest first, each item once per replica it lacks.

        The scan starts at the queue's watermark (the oldest item still without one last time), not
        at the start of the history, so a refill's cost stays flat as the history grows (this query
        took 2 s at 50,000 judgments without it). An item judged long after the items around it were
        replicated may be passed over; the others keep the share at `overlap`.
        """
        share = self._replica_share()
        # Replicas are kept at share x (items judged once); never more than this refill plans.
        unique = self.n_items - self.n_replicas
        possible = min(wanted, math.ceil(share * (unique + wanted + 1)) - self.n_replicas)
        if share <= 0 or possible <= 0:
            return []
        further = self.rating.raters_per_item - 1
        # Counted per item in a subquery, not by a join and GROUP BY: then the scan walks the ids up
        # from the watermark and stops at the LIMIT, where the aggregate counted every judged item
        # first (180 ms at 50,000 judgments when the watermark stays old).
        replicas_of_each = (Assignment.objects.filter(source=OuterRef("pk"), kind=Assignment.Kind.REPLICA)
                            .order_by().values("source").annotate(n=Count("pk")).values("n"))
        items = list(Assignment.objects
                     .filter(experiment=self.experiment, is_gold=False, status=Assignment.Status.JUDGED,
                             kind__in=[Assignment.Kind.NEW, Assignment.Kind.REISSUE],
                             id__gte=self.queue.replica_from_id,
                             left_answer__excluded=False, right_answer__excluded=False)
                     .annotate(replicas=Coalesce(Subquery(replicas_of_each), 0))
                     .filter(replicas__lt=further)
                     .order_by("id")
                     .only("id", "query_id", "left_answer_id", "right_answer_id", "cell")[:possible])
        if items:
            self.queue.replica_from_id = items[0].pk  # everything older has all its further raters
        sources = [(item, number) for item in items for number in range(item.replicas + 1, further + 1)]
        return sources[:possible]

    def _replica(self, planned):
        source, number = planned
        indices = self.layout.indices(source.left_answer_id, source.right_answer_id)
        if indices is not None:
            query, left, right = indices
            self.scheduler.record(ScheduledItem(rater=None, query=query, left=left, right=right))
        self.n_items += 1
        self.n_replicas += 1
        left, right = source.left_answer_id, source.right_answer_id
        if CHANCE.random() < 0.5:
            left, right = right, left
        return self._queued_copy(source, kind=Assignment.Kind.REPLICA, left_id=left, right_id=right,
                                 replica_number=number)

    def _new(self, item, **issued):
        layout = self.layout
        return Assignment(
            experiment=self.experiment, query_id=layout.query_ids[item.query],
            left_answer_id=CHANCE.choice(layout.answers[item.left, item.query]),
            right_answer_id=CHANCE.choice(layout.answers[item.right, item.query]),
            cell=layout.cell(item.query, item.left, item.right), kind=Assignment.Kind.NEW,
            **(issued or {"status": Assignment.Status.QUEUED}))

    def _gold_stock(self):
        """Attention items to keep queued: enough for the gold slots of a full queue, twice over."""
        if self.rating.gold_rate <= 0:
            return 0
        return max(4, math.ceil(2 * self.rating.gold_rate * settings.RATING_QUEUE_SIZE))

    def _gold(self, wanted):
        """Attention items: an answer to a query against an answer to another query."""
        by_query = {}
        for (_, query), answer_ids in self.layout.answers.items():
            by_query.setdefault(query, []).extend(answer_ids)
        if len(by_query) < 2 or wanted <= 0:
            return []
        queries = sorted(by_query)
        rows = []
        for n in range(wanted):
            query = queries[(self.queue.planned + n) % len(queries)]
            on_topic = CHANCE.choice(by_query[query])
            off_topic = CHANCE.choice(by_query[CHANCE.choice([q for q in queries if q != query])])
            better = CHANCE.choice([Assignment.Side.LEFT, Assignment.Side.RIGHT])
            left, right = (on_topic, off_topic) if better == Assignment.Side.LEFT else (off_topic, on_topic)
            rows.append(Assignment(experiment=self.experiment, query_id=self.layout.query_ids[query],
                                   left_answer_id=left, right_answer_id=right, kind=Assignment.Kind.GOLD,
                                   is_gold=True, gold_better=better, status=Assignment.Status.QUEUED))
        return rows

    def plan_for(self, session):
        """One new item planned for this rater alone, when nothing queued suits them (the end of a small pool).

        Issued at once (its public id is returned); None when the rater has seen every cell open to them.
        """
        rater = session.rater
        index_of_query = {pk: i for i, pk in enumerate(self.layout.query_ids)}
        index_of_variant = {pk: i for i, pk in enumerate(self.layout.variant_ids)}
        for item in session.items:
            if item.is_gold or not item.cell:
                continue
            query_id, low, high = (int(part) for part in item.cell.split(":"))
            if query_id in index_of_query and low in index_of_variant and high in index_of_variant:
                self.scheduler.mark_seen(ScheduledItem(rater=rater.pk, query=index_of_query[query_id],
                                                       left=index_of_variant[low], right=index_of_variant[high]))
        item = self.scheduler.choose(rater.pk)
        if item is None:
            return None
        assignment = self._new(item, rater=rater, position=session.next_position, status=Assignment.Status.ISSUED,
                               issued_at=self.now,
                               expires_at=self.now + timedelta(minutes=settings.RATING_ASSIGNMENT_MINUTES))
        assignment.save()
        return assignment.public_id
