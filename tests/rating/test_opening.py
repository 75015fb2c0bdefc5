"""Opening rating: only after a leak check that saw the answers as they are, or on a recorded 'open anyway'."""
import pytest
from django.utils import timezone

from evalplat.experiments.models import Experiment
from evalplat.generation.models import Answer, sync_experiment_status
from evalplat.rating.leaks import check_experiment
from evalplat.rating.models import Assignment, LeakCheck
from evalplat.rating.opening import leak_check_state, open_rating
from tests.rating.conftest import add_answers

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(experiment):
    add_answers(experiment)
    sync_experiment_status(experiment)
    assert experiment.status == Experiment.Status.READY
    return experiment


def test_a_check_run_by_a_command_counts_and_opening_plans_the_first_items(ready):
    assert check_experiment(ready) == 0
    run = LeakCheck.objects.get()
    assert run.by is None and run.answers == 32 and leak_check_state(ready).current
    opening = open_rating(ready)
    assert opening.opened and opening.message == "Rating is open." and ready.status == Experiment.Status.RATING
    assert Assignment.objects.filter(experiment=ready).queued().exists()


def test_a_refusal_rolls_the_status_back_and_records_nothing(ready, owner):
    opening = open_rating(ready, by=owner)
    assert not opening.opened and "the leak check has not run yet" in opening.message
    ready.refresh_from_db()
    assert ready.status == Experiment.Status.READY and not LeakCheck.objects.exists()
    assert not Assignment.objects.filter(experiment=ready).exists()


def test_a_new_answer_after_the_check_needs_a_new_check(ready):
    check_experiment(ready)
    answer = Answer.objects.filter(experiment=ready).first()
    Answer.objects.filter(pk=answer.pk).update(generated_at=timezone.now())
    assert not leak_check_state(ready).current
    assert not open_rating(ready).opened
    check_experiment(ready)
    assert open_rating(ready).opened


def test_excluding_a_flagged_answer_keeps_the_check_current(ready):
    check_experiment(ready)
    Answer.objects.filter(pk=Answer.objects.filter(experiment=ready).first().pk).update(excluded=True)
    assert leak_check_state(ready).current


def test_open_anyway_is_recorded_once_and_only_when_rating_opened(ready, owner):
    opening = open_rating(ready, by=owner, anyway=True)
    assert opening.opened and "recorded" in opening.message
    waiver = LeakCheck.objects.get()
    assert waiver.kind == LeakCheck.Kind.OPENED_ANYWAY and waiver.by == owner and waiver.answers == 32
    again = open_rating(ready, by=owner, anyway=True)             # already open: nothing moves, nothing recorded
    assert not again.opened and "while the experiment is rating open" in again.message
    assert LeakCheck.objects.count() == 1
