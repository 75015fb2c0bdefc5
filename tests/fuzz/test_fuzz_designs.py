"""Fuzzing the design parser and the design import: random text, random bytes, and near-valid
designs with one line mutated. Always a Design or DesignError whose every problem has the file
and a field (and the line where there is one); on refusal no table gains a row."""
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designs.spec import Design, DesignError, load_design, parse_design
from evalplat.experiments.importing import ImportRefused, import_design_text
from tests.fuzz.helpers import assert_placed, rolled_back, row_counts
from tests.fuzz.strategies import any_text, json_value, mutated_lines

SMALL = (Path(__file__).parents[1] / "fixtures" / "small.toml").read_text()
SMALL_LINES = SMALL.splitlines()


def check_parse(text, path="fuzz.toml"):
    try:
        design = parse_design(text, path)
    except DesignError as exc:
        assert_placed([str(p) for p in exc.problems], [path, str(Path(path).parent / "queries.jsonl")])
        for problem in exc.problems:
            assert problem.field and problem.message and (problem.line is None or problem.line >= 1)
        return None
    assert isinstance(design, Design)
    return design


@given(any_text)
def test_random_text(text):
    check_parse(text)


@given(st.binary(max_size=400))
def test_random_bytes_through_load_design(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("bytes") / "fuzz.toml"
    path.write_bytes(data)
    try:
        load_design(path)
    except DesignError as exc:
        assert_placed([str(p) for p in exc.problems], [str(path)])


@given(mutated_lines(SMALL_LINES))
def test_near_valid_designs(lines):
    check_parse("\n".join(lines))


@pytest.mark.django_db
@settings(max_examples=100)  # each example imports into the database
@given(mutated_lines(SMALL_LINES))
def test_near_valid_designs_import_or_write_nothing(owner, lines):
    text = "\n".join(lines)
    with rolled_back():
        before = row_counts()
        try:
            experiment = import_design_text(text, "fuzz.toml", owner=owner)
        except ImportRefused as exc:
            message = str(exc)
            assert message.startswith(("fuzz.toml", "the name", "an experiment named")) or "problem(s) in the design" in message
            assert row_counts() == before
        else:
            assert experiment.pk and experiment.queries.exists()


def jsonl_line():
    keys = st.sampled_from(["id", "text", "category", "held_out", "extra", ""])
    objects = st.dictionaries(keys, json_value(), max_size=4).map(
        lambda fields: "{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}")
    return st.one_of(objects, json_value(), any_text.map(lambda t: t.replace("\n", " ")))


@given(st.lists(jsonl_line(), min_size=1, max_size=6))
def test_queries_jsonl_through_a_design(tmp_path_factory, lines):
    folder = tmp_path_factory.mktemp("queries")
    (folder / "queries.jsonl").write_text("\n".join(['{"id": "ok", "text": "fine"}', *lines]) + "\n",
                                          encoding="utf-8", errors="surrogatepass")
    head = SMALL[:SMALL.index("[[queries]]")].replace('array = "auto"', 'array = "auto"\nqueries = "queries.jsonl"')
    (folder / "design.toml").write_text(head)
    try:
        load_design(folder / "design.toml")
    except DesignError as exc:
        assert_placed([str(p) for p in exc.problems], [str(folder / "design.toml"), str(folder / "queries.jsonl")])
