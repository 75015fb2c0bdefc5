"""plan and simulate understand criteria: judgments needed per criterion, a truth per criterion."""
import io
import json

import pytest
from django.core.management import CommandError, call_command

from tests.criteria.designs import THREE_CRITERIA, small_with


@pytest.fixture
def design(tmp_path):
    path = tmp_path / "three.toml"
    path.write_text(small_with(THREE_CRITERIA))
    return path


def test_plan_says_how_many_judgments_each_criterion_needs(design):
    out = io.StringIO()
    call_command("plan", str(design), stdout=out)
    text = out.getvalue()
    lines = {line.split()[0]: line.split() for line in text.splitlines() if line.startswith("  ") and "about" in line}
    assert [lines[name][1] for name in ("honesty", "warmth", "clarity")] == ["5-point", "3-way", "2-way"]
    needed = [int(lines[name][-1]) for name in ("honesty", "warmth", "clarity")]
    assert f"Items needed (each asks every criterion): about {max(needed)}" in text


def test_simulate_recovers_opposite_truths_on_two_criteria(design, tmp_path):
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"honesty": {"hedge": {"hedged": 0.8}}, "warmth": {"hedge": {"hedged": -0.8}},
                                 "clarity": {}}))
    call_command("simulate", str(design), judgments=2400, truth=str(truth), seed=3, out=str(tmp_path / "out"),
                 careless_share=0.0, stdout=io.StringIO())
    data = json.loads((tmp_path / "out" / "effects.json").read_text())
    hedged = {e["criterion"]: e for e in data["effects"] if e["level"] == "hedged"}
    assert hedged["honesty"]["ci_low"] > 0 > hedged["warmth"]["ci_high"]
    assert any(d["factor"] == "hedge" and d["helps"] == "honesty" and d["costs"] == "warmth"
               for d in data["disagreements"])
    truths = {c["criterion"]: c["result"]["simulation"]["truth"] for c in data["criteria"]}
    assert {t["level"]: t["effect"] for t in truths["warmth"]}["hedged"] == -0.8
    assert "criterion" in (tmp_path / "out" / "judgments.csv").read_text().splitlines()[0]


def test_a_truth_without_every_criterion_is_refused(design, tmp_path):
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"honesty": {"hedge": {"hedged": 0.8}}}))
    with pytest.raises(CommandError, match="one entry per criterion: honesty, warmth, clarity"):
        call_command("simulate", str(design), judgments=100, truth=str(truth), out=str(tmp_path / "out"))
    truth.write_text(json.dumps({"honesty": {"hedge": {"bold": 1}}, "warmth": {}, "clarity": {"nope": {}}}))
    with pytest.raises(CommandError) as caught:
        call_command("simulate", str(design), judgments=100, truth=str(truth), out=str(tmp_path / "out"))
    assert "honesty: hedge: unknown level 'bold'" in str(caught.value)
    assert "clarity: unknown factor 'nope'" in str(caught.value)
