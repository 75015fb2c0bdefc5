"""The console's analysis: fitted once per (experiment, judgments so far, settings), then reused.

`analysis_for` is the one entry point for the report view, every download and the interim
panel.  The result lives in the database (`AnalysisSnapshot`), keyed by the experiment, a hash of
the settings (and of RESULT_FORMAT) and the judgment count and last judgment id, so every web
worker process sees the same stored result and a report is fitted at most once per new judgment.

Concurrency: a miss takes a row lock on the experiment's snapshot row (an UPDATE, which both
PostgreSQL and SQLite make later writers wait for) before it loads and fits; a second worker that
missed at the same time waits on that lock, then finds the fresh result and returns it.
"""
import hashlib
import json
from dataclasses import asdict, dataclass

from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from evalplat.rating.models import Judgment

from .criteria import CriteriaAnalysis, analyse
from .data import design_analysis, experiment_data
from .estimate import Settings
from .models import AnalysisSnapshot
from .result import AnalysisResult
from .threads import analysis_threads

# Bump when AnalysisResult's JSON changes in a way `from_json` cannot read: stored results
# of the old form are then simply not found, and refitted.
RESULT_FORMAT = 2


@dataclass(frozen=True)
class NoAnalysis:
    """Why there is no analysis yet (no judgments, or none left after the exclusion rule)."""
    reason: str


def settings_hash(settings):
    text = json.dumps({"format": RESULT_FORMAT, "settings": asdict(settings)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def judgment_state(experiment):
    """(number of judgments, largest judgment id): what a stored result must match."""
    state = Judgment.objects.filter(assignment__experiment=experiment).aggregate(count=Count("pk"), last=Max("pk"))
    return state["count"], state["last"] or 0


def _stored(snapshot, count, last):
    """The snapshot's outcome when it matches the judgments and can be read back, else None."""
    if not snapshot or not snapshot.holds(count, last):
        return None
    if snapshot.result is None:
        return NoAnalysis(snapshot.reason)
    try:
        kind = CriteriaAnalysis if "criteria" in snapshot.result else AnalysisResult
        return kind.from_json(snapshot.result)
    except (TypeError, KeyError, ValueError):
        return None       # written by an older form of the result: refit


def analysis_for(experiment, settings=None):
    """The analysis of `experiment`'s judgments so far, as an `AnalysisResult` (a `CriteriaAnalysis`
    for a design with criteria), or `NoAnalysis`.

    Parameters
    ----------
    experiment : evalplat.experiments.models.Experiment
    settings : estimate.Settings, optional
        Default: what the design's [analysis] table asks for.

    Returns
    -------
    result.AnalysisResult, criteria.CriteriaAnalysis or NoAnalysis
        Fitted only when no stored result matches the judgments and settings.
    """
    count, last = judgment_state(experiment)
    if count == 0:
        return NoAnalysis(f"experiment {experiment.slug!r} has no judgments yet")
    settings = settings or Settings.for_design(design_analysis(experiment))
    key = settings_hash(settings)
    stored = _stored(AnalysisSnapshot.objects.filter(experiment=experiment, settings_hash=key).first(), count, last)
    if stored is not None:
        return stored
    with transaction.atomic():
        snapshot, _ = AnalysisSnapshot.objects.get_or_create(experiment=experiment, settings_hash=key)
        # The lock: a concurrent miss blocks here until this transaction commits.
        AnalysisSnapshot.objects.filter(pk=snapshot.pk).update(computed_at=snapshot.computed_at)
        snapshot.refresh_from_db()
        stored = _stored(snapshot, *judgment_state(experiment))
        if stored is not None:
            return stored
        data = experiment_data(experiment, up_to=last)
        try:
            with analysis_threads():
                outcome = analyse(data.variants, data.judgments, settings, design=data.design,
                                  criteria=experiment.rating_settings.criteria)
        except ValueError as exc:
            outcome = NoAnalysis(str(exc))
        snapshot.judgment_count = len(data.rows)
        snapshot.last_judgment_id = max(row["id"] for row in data.rows)
        snapshot.result = None if isinstance(outcome, NoAnalysis) else outcome.as_json()
        snapshot.reason = outcome.reason if isinstance(outcome, NoAnalysis) else ""
        snapshot.computed_at = timezone.now()
        snapshot.save()
    return outcome
