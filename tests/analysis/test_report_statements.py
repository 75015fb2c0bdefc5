"""Every report sentence true of the numbers beside it (issue 11, finding 7), through `analyze`."""
import json
import re
from dataclasses import replace

import numpy as np
from django.core.management import call_command

from evalplat.analysis.management.commands.analyze import Command as Analyze
from evalplat.analysis.simulate import SimulatedRaters, simulate_judgments
from evalplat.analysis.tables import write_judgments, write_variants

from .helpers import random_pairs, two_level_table

TRUTH = [0.6, -0.4, 0.8, 0.0]      # uncertainty, tone, length, format


def analyse(tmp_path, change=lambda judgments, table: judgments, n=1200, per_rater=40):
    table = two_level_table()
    rng = np.random.default_rng(7)
    rater, query, left, right = random_pairs(8, 24, n, per_rater, rng)
    judgments, _ = simulate_judgments(table.dummies(), TRUTH, rater, query, left, right,
                                      SimulatedRaters(careless_share=0.0), rng)
    judgments = change(judgments, table)
    write_variants(tmp_path / "variants.csv", table)
    write_judgments(tmp_path / "judgments.csv", judgments, table)
    call_command(Analyze(), variants=str(tmp_path / "variants.csv"), judgments=str(tmp_path / "judgments.csv"),
                 out=str(tmp_path / "out"))
    return (json.loads((tmp_path / "out" / "effects.json").read_text()),
            (tmp_path / "out" / "report.html").read_text())


def test_one_rater_is_one_rater_and_its_robust_errors_are_not_called_honest(tmp_path):
    effects, html = analyse(tmp_path, per_rater=10_000)
    assert effects["n_raters"] == 1 and effects["interval_method"] == "model"
    assert "1 rater<" in html and "1 raters" not in html
    assert "the robust ones are the honest ones" not in html
    assert "need at least 5 clusters of each kind" in html and "24 queries and 1 rater" in html
    assert "shown for reference only" in html


def length_set_by_the_length_factor(judgments, table):
    """Answer lengths that the 'length' factor sets (300 or 2000 characters, a few percent noise),
    as a max_tokens factor would, and a markdown count that never varies."""
    rng = np.random.default_rng(3)
    long = table.runs[:, 2] == 1
    chars = np.where(long, 2000.0, 300.0)
    return replace(judgments, left_chars=chars[judgments.left] * rng.uniform(0.97, 1.03, len(judgments)),
                   right_chars=chars[judgments.right] * rng.uniform(0.97, 1.03, len(judgments)),
                   left_markup=np.full(len(judgments), 3.0), right_markup=np.full(len(judgments), 3.0))


def test_a_share_explained_by_length_is_a_share_or_is_not_given(tmp_path):
    effects, html = analyse(tmp_path, length_set_by_the_length_factor)
    rows = {row["factor"]: row for row in effects["style"]["effects"]}
    assert all(row["explained"] is None or 0 <= row["explained"] <= 1 for row in rows.values()), rows
    assert all((row["explained"] is None) == (row["explained_reason"] is not None) for row in rows.values())
    assert rows["length"]["explained"] is None and "sets the length" in rows["length"]["explained_reason"]
    shown = re.findall(r"(-?\d+)%", html.split('id="style"')[1].split("</section>")[0])
    assert all(0 <= int(value) <= 100 for value in shown), shown


def test_a_markdown_count_that_never_varies_is_not_fitted_and_says_so(tmp_path):
    effects, html = analyse(tmp_path, length_set_by_the_length_factor)
    assert [c["name"] for c in effects["style"]["covariates"]] == ["log length ratio (left/right)"]
    assert effects["style"]["left_out"] == ["markdown structure never differs between the two answers of a judged "
                                            "pair, so it is not fitted"]
    assert "Not in the model: markdown structure never differs" in html
