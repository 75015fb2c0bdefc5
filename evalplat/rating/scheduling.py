"""Which assignment a rater gets next: the database side of designs.schedule.

The scheduler is pure; this module replays the experiment's assignments into
it on every request, so there is no scheduling state outside the database.
Handing out an item that exists already (an abandoned one, or a second rating
of a judged one) is claimed with a conditional UPDATE or a unique constraint,
so two simultaneous requests never get the same one.
"""
import hashlib
import math
import random
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from designs.schedule import PairScheduler, ScheduledItem, is_gold_slot, wants_replica
from evalplat.generation.models import Answer
from evalplat.rating.models import Assignment, Rater

# Left/right of replicas and attention items, and which answers fill a cell,
# must not be predictable from anything a rater can see.
CHANCE = random.SystemRandom()


@dataclass
class Layout:
    """The experiment as index arrays: what the pure scheduler works on."""

    runs: np.ndarray
    levels: list
    variant_ids: list
    query_ids: list
    answers: dict  # (variant index, query index) -> [answer id, ...]
    answer_cell: dict  # answer id -> (variant index, query index)

    @classmethod
    def load(cls, experiment):
        factors = list(experiment.factors.prefetch_related("levels"))
        variants = list(experiment.variants.prefetch_related("levels__factor"))
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
        return cls(runs, [f.levels.count() for f in factors], [v.pk for v in variants], query_ids,
                   answers, answer_cell)

    def available(self):
        table = np.zeros((len(self.variant_ids), len(self.query_ids)), dtype=bool)
        for variant, query in self.answers:
            table[variant, query] = True
        return table

    def item(self, assignment_row):
        """(rater, left answer, right answer) → a ScheduledItem, or None if an answer was since excluded."""
        rater_id, left_id, right_id = assignment_row
        if left_id not in self.answer_cell or right_id not in self.answer_cell:
            return None
        (left, query), (right, _) = self.answer_cell[left_id], self.answer_cell[right_id]
        return ScheduledItem(rater=rater_id, query=query, left=left, right=right)


def next_assignment(rater):
    """The rater's open assignment, or a new one; None when their session is over."""
    with transaction.atomic():
        # Locking the rater serialises their own tabs; other raters go on in parallel.
        rater = Rater.objects.select_for_update().select_related("experiment").get(pk=rater.pk)
        if rater.status != Rater.Status.ACTIVE:
            return None
        current = rater.assignments.open().order_by("position").first()
        if current is not None:
            return current
        experiment = rater.experiment
        rating = experiment.rating_settings
        if rater.assignments.done().count() >= rating.per_rater:
            rater.finish()
            return None
        issuer = Issuer(rater, experiment, rating)
        assignment = issuer.issue()
        if assignment is None:
            rater.finish()
        return assignment


class Issuer:
    """Picks and creates one new assignment for one rater (inside their lock)."""

    def __init__(self, rater, experiment, rating):
        self.rater = rater
        self.experiment = experiment
        self.rating = rating
        self.position = rater.assignments.count()
        self.now = timezone.now()
        self.layout = Layout.load(experiment)
        self.scheduler = self._replayed_scheduler()

    def issue(self):
        if not self.layout.answers:
            return None
        if is_gold_slot(self.position, self.rating.gold_rate, self._gold_offset()):
            gold = self._gold()
            if gold is not None:
                return gold
        return self._reissue() or self._replica() or self._new()

    def _gold_offset(self):
        # Per-rater shift so that raters meet attention items at different positions.
        digest = hashlib.sha256(self.rater.public_id.encode()).digest()
        return int.from_bytes(digest[:4], "big") / 2**32

    def _replayed_scheduler(self):
        n_queries = len(self.layout.query_ids)
        history = Assignment.objects.filter(experiment=self.experiment, is_gold=False)
        rows = list(history.values_list("rater_id", "left_answer_id", "right_answer_id", "status", "kind"))
        scheduler = PairScheduler(
            self.layout.runs, self.layout.levels, n_queries,
            seed=[self.experiment.pk, len(rows)],
            query_cap=math.ceil(self.rating.per_rater / max(1, n_queries)),
            available=self.layout.available(),
        )
        informative, seen_only = [], []
        self.n_items = self.n_replicas = 0
        for rater_id, left_id, right_id, status, kind in rows:
            item = self.layout.item((rater_id, left_id, right_id))
            if item is None:
                continue
            if status in (Assignment.Status.ISSUED, Assignment.Status.JUDGED):
                informative.append(item)
                self.n_items += 1
                self.n_replicas += kind == Assignment.Kind.REPLICA
            else:
                seen_only.append(item)
        scheduler.record_many(informative)
        for item in seen_only:
            scheduler.mark_seen(item)
        return scheduler

    def _create(self, *, query_id, left_id, right_id, kind, source=None, gold_better=""):
        return Assignment.objects.create(
            experiment=self.experiment, rater=self.rater, query_id=query_id,
            left_answer_id=left_id, right_answer_id=right_id, position=self.position,
            kind=kind, source=source, is_gold=kind == Assignment.Kind.GOLD, gold_better=gold_better,
            issued_at=self.now, expires_at=self.now + timedelta(minutes=settings.RATING_ASSIGNMENT_MINUTES),
        )

    def _open_to_rater(self, assignment):
        item = self.layout.item((self.rater.pk, assignment.left_answer_id, assignment.right_answer_id))
        return item is not None and self.scheduler.is_open(self.rater.pk, item)

    def _reissue(self):
        """Take over another rater's abandoned item, so the planned information is still collected."""
        abandoned = (Assignment.objects.abandoned(self.now)
                     .filter(experiment=self.experiment, is_gold=False)
                     .exclude(rater=self.rater)
                     .select_for_update(skip_locked=True).order_by("expires_at")[:20])
        for candidate in abandoned:
            if not self._open_to_rater(candidate):
                continue
            claimed = Assignment.objects.filter(
                pk=candidate.pk, status=Assignment.Status.ISSUED, expires_at__lt=self.now,
            ).update(status=Assignment.Status.EXPIRED)
            if claimed:
                return self._create(query_id=candidate.query_id, left_id=candidate.left_answer_id,
                                    right_id=candidate.right_answer_id, kind=Assignment.Kind.REISSUE,
                                    source=candidate)
        return None

    def _replica(self):
        """A second rating of another rater's judged item, for agreement."""
        if not wants_replica(self.n_items, self.n_replicas, self.rating.overlap):
            return None
        judged = (Assignment.objects
                  .filter(experiment=self.experiment, is_gold=False, status=Assignment.Status.JUDGED,
                          kind__in=[Assignment.Kind.NEW, Assignment.Kind.REISSUE])
                  .exclude(rater=self.rater)
                  .exclude(copies__kind=Assignment.Kind.REPLICA)
                  .order_by("finished_at")[:50])
        for candidate in judged:
            if not self._open_to_rater(candidate):
                continue
            left, right = candidate.left_answer_id, candidate.right_answer_id
            if CHANCE.random() < 0.5:
                left, right = right, left
            try:
                with transaction.atomic():
                    return self._create(query_id=candidate.query_id, left_id=left, right_id=right,
                                        kind=Assignment.Kind.REPLICA, source=candidate)
            except IntegrityError:
                continue  # another rater took this one a moment ago
        return None

    def _new(self):
        item = self.scheduler.choose(self.rater.pk)
        if item is None:
            return None
        return self._create(
            query_id=self.layout.query_ids[item.query],
            left_id=CHANCE.choice(self.layout.answers[item.left, item.query]),
            right_id=CHANCE.choice(self.layout.answers[item.right, item.query]),
            kind=Assignment.Kind.NEW,
        )

    def _gold(self):
        """An attention item: an answer to this query against an answer to another query."""
        by_query = {}
        for (_, query), answer_ids in self.layout.answers.items():
            by_query.setdefault(query, []).extend(answer_ids)
        if len(by_query) < 2:
            return None
        rater_query_uses = self.scheduler.rater_query_uses(self.rater.pk)
        fewest = min(rater_query_uses[q] for q in by_query)
        query = CHANCE.choice([q for q in by_query if rater_query_uses[q] == fewest])
        on_topic = CHANCE.choice(by_query[query])
        off_topic = CHANCE.choice(by_query[CHANCE.choice([q for q in by_query if q != query])])
        better = CHANCE.choice([Assignment.Side.LEFT, Assignment.Side.RIGHT])
        left, right = (on_topic, off_topic) if better == Assignment.Side.LEFT else (off_topic, on_topic)
        return self._create(query_id=self.layout.query_ids[query], left_id=left, right_id=right,
                            kind=Assignment.Kind.GOLD, gold_better=better)
