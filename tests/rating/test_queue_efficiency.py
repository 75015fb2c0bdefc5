"""The queue hands a simulated crowd what the pure scheduler would plan: efficiency near the mirror-pair bound.

The demo's honesty-tone design (L8 folded, 16 variants) at the design's overlap and gold rate,
30 raters at a time, 3% leaving mid-item (their items handed on), 2% problem reports.
benchmarks/bench_schedule.py runs the same crowd over 2000 judgments.
"""
from pathlib import Path

import pytest
from django.conf import settings

from benchmarks.crowd import run_crowd
from evalplat.experiments.importing import import_design_file
from tests.rating.conftest import add_answers, open_for_rating

pytestmark = pytest.mark.django_db
HONESTY_TONE = Path(settings.BASE_DIR) / "designs" / "examples" / "honesty-tone.toml"


@pytest.mark.slow
def test_the_queue_keeps_the_schedulers_efficiency(owner, settings):
    settings.RATING_QUEUE_SIZE = 64
    experiment = import_design_file(HONESTY_TONE, owner=owner)
    add_answers(experiment)
    open_for_rating(experiment)
    efficiency = run_crowd(experiment, 800, seed=3)
    # The pure scheduler reaches 0.98-0.99 on this design at this size.
    assert min(efficiency.values()) >= 0.96, efficiency
