"""Hostile and careless design files: each gets `FILE:LINE: FIELD: message`, never a traceback.

Every case here crashed (or hung) before the limits existed: NUL bytes reached PostgreSQL,
over-long text overflowed a column, deep nesting exhausted tomllib's recursion, and a
header line of spaces made the line locator backtrack for minutes. The database cases check
that nothing was written.
"""
import json
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from designs import limits
from designs.locate import TomlLocator
from designs.spec import DesignError, load_design, parse_design

SMALL = (Path(__file__).parents[1] / "fixtures" / "small.toml").read_text()


def problems(text, path="d.toml"):
    with pytest.raises(DesignError) as caught:
        parse_design(text, path)
    return [str(problem) for problem in caught.value.problems]


def mutated(old, new):
    assert SMALL.count(old) >= 1, old
    return SMALL.replace(old, new, 1)


@pytest.mark.parametrize("old,new,expected", [
    ('text = "Why is the sky blue?"', 'text = "Why is\\u0000 the sky blue?"',
     "d.toml:50: queries[1].text: contains a NUL character (\\u0000) at character 7; remove it"),
    ('hedged = "Zanzibar', 'hedged = "Zan\\u0000zibar',
     "d.toml:32: factors[1].levels.hedged: contains a NUL character (\\u0000) at character 4; remove it"),
    ('title = "Small', 'title = "Sm\\u0000all', "d.toml:5: title: contains a NUL character"),
    ('question = "Which', 'question = "\\u0000Which', "d.toml:6: question: contains a NUL character"),
    ('system = "You', 'system = "\\u0000You', "d.toml:11: prompt.system: contains a NUL character"),
    ('category = "science"', 'category = "sci\\u0000ence"', "d.toml:49: queries[1].category: contains a NUL"),
    ('model = "tiny-llama"', 'model = "tiny\\u0000llama"', "d.toml:15: generation.model: contains a NUL"),
    ('id = "sky"', 'id = "s\\u0000ky"', "d.toml:48: queries[1].id: contains a NUL character"),
    ('[factors.levels]\nplain', '[factors.levels]\n"pl\\u0000ain"', "d.toml:30: factors[1].levels.'pl\\x00ain': contains a NUL"),
])
def test_a_nul_anywhere_in_the_design_is_named_with_its_line(old, new, expected):
    found = problems(mutated(old, new))
    assert any(p.startswith(expected) for p in found), found


@pytest.mark.parametrize("old,new,expected", [
    ('title = "Small test experiment"', f'title = "{"t" * 301}"', "d.toml:5: title: 301 characters; at most 300 are allowed"),
    ('category = "science"', f'category = "{"c" * 101}"', "d.toml:49: queries[1].category: 101 characters; at most 100 are allowed"),
    ('question = "Which response is better?"', f'question = "{"q" * 2001}"', "d.toml:6: question: 2,001 characters; at most 2,000"),
    ('model = "tiny-llama"', f'model = "{"m" * 501}"', "d.toml:15: generation.model: 501 characters; at most 500"),
    ('user = "{query}"', f'user = "{{query}}{"u" * 100_000}"', "d.toml:12: prompt.user: 100,007 characters; at most 100,000"),
    ('hedged = "Zanzibar-hedge: admit any uncertainty."', f'hedged = "{"h" * 20_001}"',
     "d.toml:32: factors[1].levels.hedged: 20,001 characters; at most 20,000"),
    ('text = "Why is the sky blue?"', f'text = "{"w" * 100_001}"', "d.toml:50: queries[1].text: 100,001 characters; at most 100,000"),
    ('array = "auto"', f'array = "L{"8" * 100}"', "d.toml:7: array: longer than 100 characters"),
    ('name = "small"', f'name = "{"s" * 64}"', "d.toml:4: name: 'ssss"),
    ('name = "hedge"', f'name = "{"h" * 64}"', "d.toml:29: factors[1].name: 'hhhh"),
])
def test_text_longer_than_its_column_is_refused_with_the_limit(old, new, expected):
    found = problems(mutated(old, new))
    assert any(p.startswith(expected) for p in found), found


@pytest.mark.parametrize("old,new,expected", [
    ("temperature = 0.8", "temperature = nan", "d.toml:17: generation.temperature: nan is not a finite number"),
    ("temperature = 0.8", "temperature = inf", "d.toml:17: generation.temperature: inf is not a finite number"),
    ("cold = 0.1", "cold = -inf", "d.toml:44: factors[3].levels.cold: -inf is not a finite number"),
    ("seed = 3", f"seed = {2**64}", f"d.toml:18: generation.seed: {2**64} is too large: at most 9,223,372,036,854,775,807"),
    ("seed = 3", "seed = -1", "d.toml:18: generation.seed: -1 is too small: at least 0"),
    ("max_tokens = 16", f"max_tokens = {2**31}", f"d.toml:16: generation.max_tokens: {2**31} is too large: at most 2,147,483,647"),
    ("per_rater = 10", f"per_rater = {2**40}", f"d.toml:24: rating.per_rater: {2**40} is too large"),
    ("seed = 3", "seed = 3\nsamples = 101", "d.toml:19: generation.samples: at most 100 answers per variant and query"),
    ("seed = 3", "seed = " + "9" * 5000, "d.toml:18: toml: not readable: Exceeds the limit (4300 digits)"),
])
def test_numbers_that_json_or_the_database_cannot_hold_are_refused(old, new, expected):
    found = problems(mutated(old, new))
    assert any(p.startswith(expected) for p in found), found


@pytest.mark.parametrize("depth", [40, 5000, 100_000])
def test_deep_nesting_is_reported_not_a_recursion_error(depth):
    text = SMALL + "\n[extra]\nx = " + "[" * depth + "]" * depth + "\n"
    expected = f"d.toml:{SMALL.count(chr(10)) + 3}: toml: arrays and tables nest deeper than {limits.NESTING} levels"
    assert problems(text) == [expected]


def test_inline_tables_nested_deeply_are_reported_too():
    text = "x = " + "{a = " * 3000 + "1" + "}" * 3000
    assert problems(text) == [f"d.toml:1: toml: arrays and tables nest deeper than {limits.NESTING} levels"]


def test_too_many_factors_levels_and_queries():
    factors = "".join(f'\n[[factors]]\nname = "f{i}"\ntarget = "generation.top_k"\n[factors.levels]\na = 1\nb = 2\n'
                      for i in range(limits.FACTORS + 1))
    assert any(f"factors: {limits.FACTORS + 4} factors; at most {limits.FACTORS} are allowed" in p
               for p in problems(SMALL + factors))
    levels = "".join(f"l{i} = {i / 10}\n" for i in range(limits.LEVELS + 1))
    text = mutated("cold = 0.1\nhot = 1.1\n", levels)
    assert any(f"factors[3].levels: factor 'temperature' has {limits.LEVELS + 1} levels; at most {limits.LEVELS}" in p
               for p in problems(text))
    queries = "".join(f'\n[[queries]]\nid = "x{i}"\ntext = "t"\n' for i in range(limits.QUERIES - 3))
    assert any(f"queries: {limits.QUERIES + 1:,} queries; at most {limits.QUERIES:,} are allowed" in p
               for p in problems(SMALL + queries))


def test_a_design_file_over_the_size_limit_is_refused_before_parsing(tmp_path):
    text = SMALL + "#" * limits.DESIGN_FILE_BYTES
    assert problems(text) == [f"d.toml: file: {len(text):,} bytes; a design file may hold at most 1,000,000"]
    path = tmp_path / "big.toml"
    path.write_text(text)
    with pytest.raises(DesignError, match="big.toml: file: larger than 1,000,000 bytes, the most a design file may hold"):
        load_design(path)


def jsonl_design(tmp_path, lines):
    (tmp_path / "queries.jsonl").write_text("\n".join(lines) + "\n")
    head = SMALL[:SMALL.index("[[queries]]")]
    path = tmp_path / "design.toml"
    path.write_text(head.replace('array = "auto"', 'array = "auto"\nqueries = "queries.jsonl"'))
    return path


@pytest.mark.parametrize("line,expected", [
    ('{"id": "a", "text": "x\\u0000y"}', "queries.jsonl:2: text: contains a NUL character (\\u0000) at character 2"),
    ('{"id": "a", "text": "x\\ud800y"}', "queries.jsonl:2: text: contains an unpaired surrogate (\\ud800)"),
    ('{"id": "a", "text": "t", "category": "' + "c" * 101 + '"}', "queries.jsonl:2: category: 101 characters; at most 100"),
    ('{"id": "a", "text": "t", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "queries.jsonl:2: line: nested deeper than 32"),
    ('{"id": "a", "text": "t", "x": ' + "[" * 40 + "]" * 40 + "}", "queries.jsonl:2: line: nested deeper than 32"),
    ('{"id": "a", "text": "t", "n": ' + "7" * 5000 + "}", "queries.jsonl:2: line: not readable: Exceeds the limit"),
    ('{"id": "a", "text": "t", "k\\u0000": 1}', "queries.jsonl:2: 'k\\x00': contains a NUL character"),
])
def test_queries_jsonl_lines_name_their_line(tmp_path, line, expected):
    path = jsonl_design(tmp_path, ['{"id": "ok", "text": "fine"}', line])
    with pytest.raises(DesignError) as caught:
        load_design(path)
    found = [str(p).replace(str(tmp_path) + "/", "") for p in caught.value.problems]
    assert any(p.startswith(expected) for p in found), found


def test_too_many_queries_in_a_jsonl_file(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "QUERIES", 5)
    path = jsonl_design(tmp_path, ['{"id": "q%d", "text": "fine"}' % i for i in range(9)])
    with pytest.raises(DesignError, match="queries.jsonl:6: line: more than 5 queries; at most 5 are allowed"):
        load_design(path)


def test_a_huge_value_is_cut_in_the_message():
    found = problems(mutated('name = "small"', f'name = "{"Big " * 10_000}"'))
    assert len(found[0]) < 250 and "(40,000 characters)" in found[0]


@pytest.mark.parametrize("line", ["[" + " " * 3000, "[[" + " a" * 3000, "x = {" + "a" * 100_000])
def test_the_line_locator_is_linear_on_hostile_lines(line):
    started = time.perf_counter()
    TomlLocator(line)
    assert time.perf_counter() - started < 1.0  # was minutes for "[" and 3000 spaces


@pytest.mark.django_db
@pytest.mark.parametrize("old,new", [
    ('text = "Why is the sky blue?"', 'text = "Why\\u0000?"'),
    ('title = "Small test experiment"', f'title = "{"t" * 301}"'),
    ("temperature = 0.8", "temperature = nan"),
])
def test_create_experiment_refuses_and_writes_nothing(tmp_path, old, new):
    from evalplat.experiments.models import Experiment, Factor, Level, Query, Variant

    path = tmp_path / "design.toml"
    path.write_text(mutated(old, new))
    with pytest.raises(CommandError, match=r"design.toml:\d+: "):
        call_command("create_experiment", str(path))
    assert [m.objects.count() for m in (Experiment, Factor, Level, Variant, Query)] == [0] * 5


def test_limits_are_the_database_columns():
    from evalplat.experiments.models import Experiment, Factor, Level, Query
    from evalplat.generation.models import Answer

    columns = {
        limits.TITLE: Experiment._meta.get_field("title"), limits.NAME: Experiment._meta.get_field("slug"),
        limits.QUERY_ID: Query._meta.get_field("key"), limits.CATEGORY: Query._meta.get_field("category"),
        limits.MODEL: Answer._meta.get_field("model"), limits.FINISH_REASON: Answer._meta.get_field("finish_reason"),
    }
    for limit, column in columns.items():
        assert column.max_length == limit, column
    assert Factor._meta.get_field("name").max_length == Level._meta.get_field("name").max_length == limits.NAME


def test_nesting_depth_is_iterative():
    deep = []
    for _ in range(100_000):
        deep = [deep]
    assert limits.nesting_depth(deep) == limits.NESTING + 1
    assert limits.nesting_depth({"a": [1, {"b": 2}]}) == 3
