"""variants.csv / judgments.csv: reading, writing, and errors that name the file and line."""
import numpy as np
import pytest

from evalplat.analysis.tables import (TableError, judgments_from_arrays, read_judgments, read_variants, write_judgments,
                                     write_variants)

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


def test_broken_utf8_names_file_line_and_field(tmp_path, variants_csv):
    path = tmp_path / "judgments.csv"
    path.write_bytes(b"query,left,right,winner,rater\nq1,v1,v2,left,ann\nq2,v1,v3,left,b\xffb\n")
    with pytest.raises(TableError, match=r"judgments.csv:3: rater: byte 0xff is not valid UTF-8"):
        read_judgments(path, read_variants(variants_csv))


def test_a_lone_carriage_return_names_its_line(tmp_path, variants_csv):
    path = tmp_path / "judgments.csv"
    path.write_bytes(b"query,left,right,winner\nq1,v1,v2,left\nq2,v1,v3,le\rft\n")
    with pytest.raises(TableError, match=r"judgments.csv:3: a carriage return that does not end a line"):
        read_judgments(path, read_variants(variants_csv))


def test_broken_utf8_after_a_stray_return_still_names_the_line(tmp_path, variants_csv):
    path = tmp_path / "judgments.csv"
    path.write_bytes(b"query,left,right,winner\r\x00\x80\n")
    with pytest.raises(TableError, match=r"judgments.csv:1: .*byte 0x80 is not valid UTF-8"):
        read_judgments(path, read_variants(variants_csv))


def test_broken_utf8_in_variants_names_the_line(tmp_path):
    path = tmp_path / "variants.csv"
    path.write_bytes(b"variant,tone\nv1,warm\nv2,c\xe9ld\n")
    with pytest.raises(TableError, match=r"variants.csv:3: tone: byte 0xe9 is not valid UTF-8"):
        read_variants(path)


def test_a_field_over_the_limit_names_file_line_and_field(tmp_path, variants_csv):
    path = judgments_file(tmp_path, "query,left,right,winner\nq1,v1,v2,left\n" + "q" * 131_073 + ",v1,v2,left\n")
    with pytest.raises(TableError, match=r"judgments.csv:3: query: longer than 131,072 characters"):
        read_judgments(path, read_variants(variants_csv))


FORMULAS = ['=HYPERLINK("http://evil")', "+1+2", "-3", "@SUM(A1)", "'=already quoted", "\tx"]


def test_exported_cells_cannot_start_a_spreadsheet_formula_and_still_round_trip(tmp_path, variants_csv):
    variants = read_variants(variants_csv)
    rows = "".join(f'"{q.replace(chr(34), chr(34) * 2)}",v1,v2,left,{i}\n' for i, q in enumerate(FORMULAS))
    judgments = read_judgments(judgments_file(tmp_path, "query,left,right,winner,rater\n" + rows), variants)
    # A cell written as an apostrophe before a formula character is read as the text after it.
    assert judgments.queries == ('=HYPERLINK("http://evil")', "+1+2", "-3", "@SUM(A1)", "=already quoted", "x")
    out = tmp_path / "out.csv"
    write_judgments(out, judgments, variants)
    cells = [line.split(",")[0] for line in out.read_text().splitlines()[1:]]
    assert all(not cell.lstrip('"').startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells), cells
    assert cells[0] == '"\'=HYPERLINK(""http://evil"")"' and cells[4] == "'=already quoted"
    assert read_judgments(out, variants).queries == judgments.queries
    # Text that itself starts with an apostrophe and a formula character survives too.
    odd = judgments_from_arrays([0], [1], [1], queries=["'=x"])
    write_judgments(out, odd, variants)
    assert out.read_text().splitlines()[1].startswith("''=x,") and read_judgments(out, variants).queries == ("'=x",)


def test_an_attention_item_may_show_one_variant_on_both_sides(tmp_path, variants_csv):
    path = judgments_file(tmp_path, "query,left,right,winner,gold\nq1,v1,v1,left,left\nq1,v1,v2,left,\n")
    judgments = read_judgments(path, read_variants(variants_csv))
    assert judgments.gold.tolist() == [1, 0] and judgments.left.tolist() == [0, 0]


def test_the_reader_agrees_with_the_csv_module_on_awkward_files(tmp_path, variants_csv):
    import csv

    text = ('\ufeffquery , left,right,winner,rater\r\n'
            '"a, b",v1,v2,left, ann \r\n'
            '\r\n'
            '"multi\nline",v2,v1,tie,bob\r\n'
            ' , , , , \r\n'
            '007,v1,v3,right,ann\r\n'
            '7,v3,v1,left,"q""uote"\r\n')
    path = tmp_path / "judgments.csv"
    path.write_text(text, encoding="utf-8", newline="")
    judgments = read_judgments(path, read_variants(variants_csv))
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = [[cell.strip() for cell in row] for row in csv.reader(handle)][1:]
    rows = [row for row in rows if any(row)]
    assert list(judgments.queries) == [row[0] for row in rows]
    assert judgments.raters == ("ann", "bob", 'q"uote') and judgments.rater.tolist() == [0, 1, 0, 2]
    assert judgments.winner.tolist() == [1, 0, -1, 1]


def test_a_short_or_long_row_names_its_line_after_a_quoted_newline(tmp_path, variants_csv):
    path = judgments_file(tmp_path, 'query,left,right,winner\n"two\nlines",v1,v2,left\nq2,v1\nq3,v1,v2,left,extra\n')
    with pytest.raises(TableError) as error:
        read_judgments(path, read_variants(variants_csv))
    assert [(p[1], p[2]) for p in error.value.problems] == [(4, "has 2 cells, the header has 4"),
                                                             (5, "has 5 cells, the header has 4")]
