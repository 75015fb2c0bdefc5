"""A small experiment with three criteria (honesty 5-point, warmth 3-way, clarity 2-way), open for rating."""
import pytest

from evalplat.experiments.importing import import_design_file
from evalplat.rating.models import Invite
from tests.criteria.designs import THREE_CRITERIA, small_with
from tests.rating.conftest import add_answers, open_for_rating, start_session  # noqa: F401 (a fixture)


@pytest.fixture
def criteria_experiment(owner, tmp_path):
    path = tmp_path / "criteria.toml"
    path.write_text(small_with(THREE_CRITERIA, rating_extra="raters_per_item = 3\n")
                    .replace('name = "small"', 'name = "three-criteria"'))
    experiment = import_design_file(path, owner=owner)
    add_answers(experiment)
    return open_for_rating(experiment)


@pytest.fixture
def criteria_invite(criteria_experiment, owner):
    return Invite.objects.create(experiment=criteria_experiment, kind=Invite.Kind.STUDY, created_by=owner)
