"""variants.csv / judgments.csv: reading, writing, and errors that name the file and line."""
import numpy as np
import pytest

from evalplat.analysis.tables import TableError, read_judgments, read_variants, write_judgments, write_variants

VARIANTS = "variant,uncertainty,tone\nv1,none,neutral\nv2,flag,neutral\nv3,none,warm\nv4,flag,warm\n"


@pytest.fixture
def variants_csv(tmp_path):
    path = tmp_path / "variants.csv"
    path.write_text(VARIANTS)
    return path


def judgments_file(tmp_path, text):
    path = tmp_path / "judgments.csv"
    path.write_text(text)
    return path


def test_the_baseline_is_the_level_in_the_first_row(variants_csv):
    variants = read_variants(variants_csv)
    assert variants.factors == ("uncertainty", "tone")
    assert variants.levels == (("none", "flag"), ("neutral", "warm"))
    assert variants.runs.tolist() == [[0, 0], [1, 0], [0, 1], [1, 1]]


def test_optional_columns_are_read_and_written_back(tmp_path, variants_csv):
    variants = read_variants(variants_csv)
    text = ("query,left,right,winner,strength,rater,category,both_bad,gold,left_chars,right_chars\n"
            "q1,v1,v2,left,2,ann,health,0,,100,250\n"
            "q1,v2,v1,tie,,bob,health,yes,,250,100\n"
            "q2,v3,v4,right,,ann,,,right,80,90\n")
    judgments = read_judgments(judgments_file(tmp_path, text), variants)
    assert judgments.winner.tolist() == [1, 0, -1]
    assert judgments.strength.tolist() == [2, 0, 0]
    assert judgments.raters == ("ann", "bob") and judgments.rater.tolist() == [0, 1, 0]
    assert judgments.both_bad.tolist() == [False, True, False]
    assert judgments.gold.tolist() == [0, 0, -1]
    assert judgments.category.tolist() == [0, 0, -1]
    assert np.isnan(judgments.left_markup).all() and judgments.has_lengths
    out_variants, out_judgments = tmp_path / "v.csv", tmp_path / "j.csv"
    write_variants(out_variants, variants)
    write_judgments(out_judgments, judgments, variants)
    again = read_judgments(out_judgments, read_variants(out_variants))
    for name in ("left", "right", "winner", "strength", "rater", "both_bad", "gold", "left_chars"):
        assert np.array_equal(getattr(again, name), getattr(judgments, name), equal_nan=True), name


@pytest.mark.parametrize("line,message", [
    ("q1,v1,v9,left", "2: right: unknown variant id 'v9'"),
    ("q1,v1,v2,better", "2: winner: 'better' is not left, right or tie"),
    ("q1,v1,v2,left,3", "2: strength: '3' is not 1, 2 or blank"),
    ("q1,v1,v2,tie,1", "2: strength: a tie has no strength"),
    ("q1,v1,v1,left", "2: left and right are the same variant"),
    ("q1,v1,v2", "2: has 3 cells, the header has 4"),
])
def test_a_malformed_judgment_names_file_and_line(tmp_path, variants_csv, line, message):
    header = "query,left,right,winner,strength\n" if line.count(",") == 4 else "query,left,right,winner\n"
    path = judgments_file(tmp_path, header + line + "\n")
    with pytest.raises(TableError) as error:
        read_judgments(path, read_variants(variants_csv))
    assert f"{path}:{message}" in str(error.value)


def test_missing_columns_are_named(tmp_path, variants_csv):
    path = judgments_file(tmp_path, "query,left,winner\nq1,v1,left\n")
    with pytest.raises(TableError, match=r"judgments.csv:1: missing column\(s\) right"):
        read_judgments(path, read_variants(variants_csv))


def test_every_bad_line_is_reported_not_just_the_first(tmp_path, variants_csv):
    path = judgments_file(tmp_path, "query,left,right,winner\nq1,v1,v2,left\nq1,v1,vX,left\nq2,v2,v3,maybe\n")
    with pytest.raises(TableError) as error:
        read_judgments(path, read_variants(variants_csv))
    assert [(p[1]) for p in error.value.problems] == [3, 4]


def test_a_repeated_variant_id_names_both_lines(tmp_path):
    path = tmp_path / "variants.csv"
    path.write_text("variant,a\nv1,x\nv1,y\n")
    with pytest.raises(TableError, match="variants.csv:3: variant 'v1' already defined on line 2"):
        read_variants(path)
