"""raters_per_item = k: the overlap share of items is judged by k raters, always k different ones."""
import collections

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from evalplat.experiments.importing import import_design_file
from evalplat.rating.models import Assignment, RatingQueue, Rater
from evalplat.rating.scheduling import Session, next_item_id, refill
from tests.criteria.designs import small_with
from tests.rating.conftest import add_answers, open_for_rating

pytestmark = pytest.mark.django_db


def experiment_with(owner, tmp_path, **rating):
    text = small_with("", rating_extra="".join(f"{key} = {value}\n" for key, value in rating.items()))
    for key in rating:  # a key small.toml sets already: keep only the new line
        text = text.replace({"overlap": "overlap = 0.2\n", "per_rater": "per_rater = 10\n"}.get(key, "\0"), "", 1)
    path = tmp_path / "k.toml"
    path.write_text(text)
    experiment = import_design_file(path, owner=owner)
    add_answers(experiment)
    open_for_rating(experiment)
    refill(experiment)
    return experiment


def judge_everything(experiment, n_raters):
    """Raters who each judge until their session ends (left, strength 1)."""
    for number in range(n_raters):
        rater = Rater.objects.create(experiment=experiment, external_id=f"r{number}")
        while True:
            with transaction.atomic():
                session = Session.load(Rater.objects.select_related("experiment").get(pk=rater.pk))
                public_id = next_item_id(session)
                if public_id is None:
                    break
                item = Assignment.objects.get(public_id=public_id)
                item.record_judgment(answers=[("", "left", 1)], both_bad=False, rationale="")
            if RatingQueue.objects.get(experiment=experiment).wants_refill(item, timezone.now()):
                refill(experiment, item)  # what the item page does after it is sent


def groups(experiment):
    """Each planned item with its replicas: {source id: [assignment, ...]}."""
    found = collections.defaultdict(list)
    for item in Assignment.objects.filter(experiment=experiment, is_gold=False).exclude(kind=Assignment.Kind.REISSUE):
        found[item.source_id if item.kind == Assignment.Kind.REPLICA else item.pk].append(item)
    return found


def test_three_raters_per_item_are_three_different_raters(owner, tmp_path):
    experiment = experiment_with(owner, tmp_path, overlap=0.5, raters_per_item=3, per_rater=12)
    judge_everything(experiment, 30)
    found = groups(experiment)
    judged_by = {source: [a.rater_id for a in items if a.status == Assignment.Status.JUDGED]
                 for source, items in found.items()}
    assert max(len(raters) for raters in judged_by.values()) == 3
    assert all(len(set(raters)) == len(raters) for raters in judged_by.values())
    assert all(len(items) <= 3 for items in found.values())
    replicas = Assignment.objects.filter(experiment=experiment, kind=Assignment.Kind.REPLICA)
    assert sum(len(raters) == 3 for raters in judged_by.values()) >= 20
    assert set(replicas.values_list("replica_number", flat=True)) == {1, 2}
    # The share: replicas ≈ overlap × (k - 1) × items judged once (they lag by up to half a queue).
    firsts = Assignment.objects.filter(experiment=experiment, kind=Assignment.Kind.NEW).count()
    assert 0.5 * 2 * firsts * 0.6 <= replicas.count() <= 0.5 * 2 * firsts + 1


def test_with_the_default_k_an_item_gets_one_second_rater(owner, tmp_path):
    experiment = experiment_with(owner, tmp_path, overlap=0.5, per_rater=12)
    judge_everything(experiment, 8)
    assert max(len(items) for items in groups(experiment).values()) == 2
    assert set(Assignment.objects.filter(kind=Assignment.Kind.REPLICA)
               .values_list("replica_number", flat=True)) == {1}


def test_the_database_refuses_a_second_copy_with_the_same_number(owner, tmp_path):
    experiment = experiment_with(owner, tmp_path, overlap=0.5, raters_per_item=3)
    source = Assignment.objects.filter(experiment=experiment, kind=Assignment.Kind.NEW).first()
    copy = dict(experiment=experiment, query_id=source.query_id, left_answer_id=source.left_answer_id,
                right_answer_id=source.right_answer_id, cell=source.cell, kind=Assignment.Kind.REPLICA,
                source=source, status=Assignment.Status.QUEUED)
    Assignment.objects.create(replica_number=1, **copy)
    Assignment.objects.create(replica_number=2, **copy)
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(replica_number=2, **copy)



def test_the_planned_schedule_gives_k_different_raters_to_the_overlap_share(monkeypatch):
    from designs.matrix import design_matrix
    from designs.schedule import PairScheduler, plan_pairs

    runs = design_matrix([2, 2, 2], foldover=True).runs
    replica_for = PairScheduler.replica_for
    for k in (2, 3):
        sources = collections.Counter()

        def counted(self, rater, items, unreplicated):
            index = replica_for(self, rater, items, unreplicated)
            if index is not None:
                assert rater != items[index].rater and self.is_open(rater, items[index])
                sources[index] += 1
            return index

        monkeypatch.setattr(PairScheduler, "replica_for", counted)
        items = plan_pairs(runs, [2, 2, 2], 12, 3000, seed=0, per_rater=30, overlap=0.3, raters_per_item=k)
        replicas = sum(sources.values())
        assert max(sources.values()) == k - 1  # each item at most k raters
        assert replicas == pytest.approx(0.3 * (k - 1) * (len(items) - replicas), rel=0.02)


def test_a_refill_takes_no_more_replica_sources_than_it_plans(owner, tmp_path):
    from evalplat.rating.scheduling import Planner, lock_queue

    experiment = experiment_with(owner, tmp_path, overlap=1.0, raters_per_item=20, per_rater=12)
    judge_everything(experiment, 6)
    with transaction.atomic():
        planner = Planner(experiment, lock_queue(experiment, wait=True))
        assert len(planner._replica_sources(5)) == 5
