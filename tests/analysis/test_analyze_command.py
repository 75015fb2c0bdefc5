"""manage.py analyze on CSV files: the five outputs, clear errors, escaped user text."""
import json
import re

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from evalplat.analysis.management.commands.analyze import Command as Analyze
from evalplat.analysis.simulate import SimulatedRaters, simulate_judgments
from evalplat.analysis.tables import write_judgments, write_variants

from .helpers import random_pairs, two_level_table

OUTPUTS = ["effects.csv", "effects.json", "judgments.csv", "report.html", "variants.csv"]
HOSTILE = "<script>alert('level')</script>"


@pytest.fixture
def offline_csvs(tmp_path):
    """A simulated experiment written as PRODUCT.md's CSVs, one level name hostile HTML."""
    table = two_level_table()
    table = type(table)(ids=table.ids, factors=table.factors,
                        levels=table.levels[:3] + (("prose", HOSTILE),), runs=table.runs)
    rng = np.random.default_rng(2)
    rater, query, left, right = random_pairs(8, 12, 600, 40, rng)
    judgments, _ = simulate_judgments(table.dummies(), [0.8, -0.5, 0.0, 0.3], rater, query, left, right,
                                      SimulatedRaters(), rng)
    variants_path, judgments_path = tmp_path / "variants.csv", tmp_path / "judgments.csv"
    write_variants(variants_path, table)
    write_judgments(judgments_path, judgments, table)
    return variants_path, judgments_path


def analyze(*args, **options):
    call_command(Analyze(), *args, **options)


def test_offline_analysis_writes_the_five_files(tmp_path, offline_csvs):
    variants, judgments = offline_csvs
    out = tmp_path / "out"
    analyze(variants=str(variants), judgments=str(judgments), out=str(out))
    assert sorted(p.name for p in out.iterdir()) == OUTPUTS
    effects = json.loads((out / "effects.json").read_text())
    assert {"effects", "interval_method", "position_bias", "n_judgments"} <= set(effects)
    row = next(r for r in effects["effects"] if r["level"] == "uncertainty-alt")
    assert {"factor", "level", "estimate", "std_error", "robust_std_error", "ci_low", "ci_high"} <= set(row)
    assert row["ci_low"] < row["estimate"] < row["ci_high"] and row["estimate"] > 0
    baseline = next(r for r in effects["effects"] if r["level"] == "uncertainty-base")
    assert baseline["estimate"] == 0
    assert effects["interval_method"] in ("robust", "model") and effects["n_judgments"] == 600
    assert (out / "judgments.csv").read_text().splitlines()[0].startswith("query,left,right,winner,strength,rater")


def test_user_text_in_the_report_is_escaped(tmp_path, offline_csvs):
    variants, judgments = offline_csvs
    analyze(variants=str(variants), judgments=str(judgments), out=str(tmp_path / "out"))
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<script" not in html
    assert "&lt;script&gt;alert(" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|@import""", html)


def test_a_bad_judgments_file_is_an_error_naming_the_line_and_nothing_is_written(tmp_path, offline_csvs):
    variants, judgments = offline_csvs
    lines = judgments.read_text().splitlines()
    lines[5] = lines[5].replace(",v", ",v99", 1)
    judgments.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    with pytest.raises(CommandError, match=r"judgments.csv:6: left: unknown variant id 'v99"):
        analyze(variants=str(variants), judgments=str(judgments), out=str(out))
    assert not out.exists()


def test_both_forms_cannot_be_mixed(tmp_path, offline_csvs):
    variants, judgments = offline_csvs
    with pytest.raises(CommandError, match="not both"):
        analyze("some-experiment", variants=str(variants), judgments=str(judgments), out=str(tmp_path))
    with pytest.raises(CommandError, match="needs both"):
        analyze(variants=str(variants), out=str(tmp_path))
