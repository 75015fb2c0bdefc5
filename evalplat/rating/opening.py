"""Opening rating: only after a leak check that has seen the answers as they are now, or on the
experimenter's explicit, recorded "open anyway".

An answer that quotes its prompt or names its model can tell a rater which variant wrote it
(evalplat/rating/leaks.py), so rating opens only once the check has run since the last answer
was written. A check is current while the finished answers are as it saw them: the same number,
the newest written at the same moment (every writer of an answer, generation or import, stamps
`generated_at`). Excluding a flagged answer is the check's outcome, not a change it must see.

The status itself changes only through `Experiment.open_rating()`.
"""
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Max

from evalplat.generation.models import Answer
from evalplat.rating.models import LeakCheck
from evalplat.rating.scheduling import refill


@dataclass(frozen=True)
class LeakCheckState:
    last_run: LeakCheck | None          # the latest run of the check
    current: bool                       # it saw the answers as they are now
    answers: int                        # finished answers now
    answers_written_at: object          # when the newest of them was written (a datetime, or None)

    @property
    def why_not_current(self):
        """What to do before rating may open ('' when the check is current)."""
        if self.current:
            return ""
        if self.last_run is None:
            return "the leak check has not run yet"
        return f"answers were written after the last leak check ({self.last_run.at:%Y-%m-%d %H:%M} UTC)"


def answers_now(experiment):
    """(finished answers, when the newest was written): what a current check must have seen."""
    state = Answer.objects.filter(experiment=experiment, status=Answer.Status.DONE).aggregate(
        n=Count("pk"), newest=Max("generated_at"))
    return state["n"], state["newest"]


def leak_check_state(experiment) -> LeakCheckState:
    count, newest = answers_now(experiment)
    last = LeakCheck.objects.filter(experiment=experiment, kind=LeakCheck.Kind.RUN).select_related("by").first()
    current = last is not None and (last.answers, last.answers_written_at) == (count, newest)
    return LeakCheckState(last_run=last, current=current, answers=count, answers_written_at=newest)


def record_run(experiment, *, flagged, by=None):
    """Log a finished run of the check (called by leaks.check_experiment, in its transaction)."""
    count, newest = answers_now(experiment)
    return LeakCheck.objects.create(experiment=experiment, kind=LeakCheck.Kind.RUN, by=by, answers=count,
                                    answers_written_at=newest, flagged=flagged)


@dataclass(frozen=True)
class Opening:
    opened: bool
    message: str


def open_rating(experiment, *, by=None, anyway=False) -> Opening:
    """Open rating if the leak check is current, or with `anyway` (recorded with `by` and the
    time); then plan the first batch of items, so the first raters need not wait for it.

    The lifecycle method is asked first, so a refusal names the real obstacle: an experiment
    that is not ready hears that, not that the check is missing. Its move is rolled back when
    the check then refuses.
    """
    refusal = ""
    with transaction.atomic():
        state = leak_check_state(experiment)
        status_before = experiment.get_status_display().lower()
        if not experiment.open_rating():
            return Opening(False, f"Rating cannot be opened while the experiment is {status_before}.")
        if not state.current and not anyway:
            transaction.set_rollback(True)
            refusal = (f"Rating did not open: {state.why_not_current}. Run the leak check, or choose "
                       "\"Open anyway\" to open without it (your decision is recorded).")
        elif not state.current:
            LeakCheck.objects.create(experiment=experiment, kind=LeakCheck.Kind.OPENED_ANYWAY, by=by,
                                     answers=state.answers, answers_written_at=state.answers_written_at)
    if refusal:
        experiment.refresh_from_db(fields=["status"])    # the move was rolled back
        return Opening(False, refusal)
    refill(experiment)
    if state.current:
        return Opening(True, "Rating is open.")
    return Opening(True, f"Rating is open without a current leak check ({state.why_not_current}); "
                         "the decision is recorded with your name and the time.")


def opened_anyway(experiment):
    """The latest "open anyway", if rating is open on it: no run of the check has come since."""
    waiver = LeakCheck.objects.filter(experiment=experiment).select_related("by").first()
    return waiver if waiver is not None and waiver.kind == LeakCheck.Kind.OPENED_ANYWAY else None
