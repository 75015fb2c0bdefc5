import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command

from evalplat.experiments.models import Experiment

EXAMPLES = sorted((Path(__file__).parents[2] / "designs" / "examples").glob("*.toml"))


def run_plan(*args):
    out = io.StringIO()
    call_command("plan", *map(str, args), stdout=out)
    return out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_plan_prints_every_part_and_writes_the_csv(path, tmp_path):
    csv_path = tmp_path / "v.csv"
    output = run_plan(path, "--csv", csv_path)
    for heading in ("Factors", "Array:", "Variants", "Aliasing", "Prompts for the first query",
                    "Answers to generate", "Pair schedule efficiency", "Judgments needed"):
        assert heading in output
    rows = list(csv.reader(csv_path.open()))
    assert rows[0][0] == "variant" and len(rows[0]) >= 7
    assert rows[1][0] == "v1"
    assert Experiment.objects.count() == 0  # plan writes nothing to the database


def test_the_csv_baseline_row_is_the_first_level_of_every_factor(small_design_path, tmp_path):
    csv_path = tmp_path / "v.csv"
    run_plan(small_design_path, "--csv", csv_path)
    rows = list(csv.DictReader(csv_path.open()))
    assert rows[0] == {"variant": "v1", "hedge": "plain", "voice": "flat", "temperature": "cold"}
    assert len(rows) == 8


def test_plan_shows_each_variants_prompt(small_design_path):
    output = run_plan(small_design_path)
    assert output.count("[system]") == 8
    assert "Zanzibar-hedge: admit any uncertainty." in output
    assert "8 variants x 4 queries x 1 sample(s) = 32" in output


def test_the_two_level_example_schedule_reaches_the_efficiency_goal():
    output = run_plan(EXAMPLES[[p.name for p in EXAMPLES].index("honesty-tone.toml")])
    section = output.split("Pair schedule efficiency")[1].split("Judgments needed")[0]
    figures = [float(line.split()[-1]) for line in section.strip().splitlines()[1:]]
    assert len(figures) == 7 and min(figures) >= 0.9


def test_a_csv_path_that_cannot_be_written_is_one_clear_error(small_design_path, tmp_path):
    from django.core.management.base import CommandError

    target = tmp_path / "no-such-folder" / "variants.csv"
    with pytest.raises(CommandError, match=r"--csv .*variants.csv: No such file or directory"):
        call_command("plan", str(small_design_path), csv=str(target))
    assert not target.parent.exists()
