"""The blinding audit with criteria: three rows of choices and k = 3 raters reveal nothing more."""
import re
import shutil
from pathlib import Path

import pytest
from django.test import Client

from evalplat.experiments.importing import import_design_file
from evalplat.rating.models import Assignment, Invite
from tests.criteria.designs import THREE_CRITERIA
from tests.rating.conftest import add_answers, open_for_rating
from tests.rating.test_blinding import ATTRIBUTE, INPUT, Recorder, secrets_of, walk_session

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parents[1] / "rating" / "fixtures"
ROWS = {"choice-1": ["a2", "a1", "same", "b1", "b2"], "choice-2": ["a", "same", "b"], "choice-3": ["a", "b"]}


@pytest.fixture
def blinded_criteria(owner, tmp_path):
    text = (FIXTURES / "blinding.toml").read_text()
    text = text.replace('question = "Which response would help the person more?"\n', "")
    text = text.replace("gold_rate = 0.1\n", "gold_rate = 0.1\nraters_per_item = 3\n", 1)
    text = text.replace("\n[[factors]]", "\n" + THREE_CRITERIA + "\n[[factors]]", 1)
    (tmp_path / "blinding.toml").write_text(text)
    shutil.copy(FIXTURES / "blinding-instructions.md", tmp_path)
    experiment = import_design_file(tmp_path / "blinding.toml", owner=owner)
    assert len(experiment.rating_settings.criteria) == 3
    add_answers(experiment, seed=1)
    return open_for_rating(experiment)


def test_no_rater_response_with_criteria_reveals_a_variant_or_level(blinded_criteria, settings):
    settings.RATING_QUEUE_SIZE = 6  # refills often, so replicas reach these sessions
    invite = Invite.objects.create(experiment=blinded_criteria)
    recorder = Recorder()
    for n in range(5):
        recorder.client = Client()
        walk_session(recorder, invite, f"p{n}", invalid={"choice-1": "a1"},  # two rows missing: errors
                     answer=lambda step, n=n: {row: values[(n + step) % len(values)] for row, values in ROWS.items()})
    assert Assignment.objects.filter(kind="replica", status="judged").exists()
    secrets = secrets_of(blinded_criteria) | {"honesty", "warmth", "clarity"}
    codes = set(blinded_criteria.variants.values_list("code", flat=True))
    variant_code = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, codes)) + r")(?![\w-])")
    for response in recorder.responses:
        text = response.content.decode()
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        for where in (text, headers):
            leaked = [s for s in secrets if s.lower() in where.lower()]
            assert not leaked, f"{response.status_code} {response.get('Location', '')}: {leaked}"
            assert not variant_code.search(where)
        for tag in INPUT.findall(text):
            attributes = dict(ATTRIBUTE.findall(tag))
            name = attributes.get("name")
            if name in ROWS:
                assert attributes["value"] in ROWS[name], tag
            elif name is not None:
                assert name in {"csrfmiddlewaretoken", "both_bad", "rationale", "problem", "note", "consent"}, tag
