"""The malformed-design corpus: every file gives exactly the expected problems and writes nothing.

Each expectation is the whole message, "FILE:LINE: FIELD: MESSAGE", with FILE
relative to tests/designs/malformed/. All problems are collected, so the list
is complete, not just the first.
"""
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from designs.spec import DesignError, load_design
from evalplat.experiments.models import Experiment, Factor, Query, Variant

MALFORMED = Path(__file__).parent / "malformed"

EXPECTED = {
    "array-bad-name.toml": [
        'array-bad-name.toml:2: array: \'biggest\': expected "auto", "full" or an array name such as "L8" or "L18"',
    ],
    "duplicate-factor-name.toml": [
        "duplicate-factor-name.toml:17: factors[2].name: duplicate factor name 'a' (first defined as factor 1)",
    ],
    "duplicate-query-id.toml": [
        "duplicate-query-id.toml:21: queries[2].id: duplicate query id 'q1' (first at query 1)",
    ],
    "empty-query-text.toml": [
        'empty-query-text.toml:18: queries[1].text: must not be empty',
    ],
    "factor-named-query.toml": [
        "factor-named-query.toml:11: factors[1].name: 'query' is reserved for the query text",
    ],
    "factor-without-levels.toml": [
        "factor-without-levels.toml:10: factors[1]: factor 'a' has no [factors.levels] table",
    ],
    "foldover-not-bool.toml": [
        "foldover-not-bool.toml:2: foldover: expected true or false, got 'yes' (a string)",
    ],
    "generation-max-tokens-zero.toml": [
        'generation-max-tokens-zero.toml:9: generation.max_tokens: must be at least 1',
    ],
    "generation-missing-model.toml": [
        "generation-missing-model.toml:7: generation: missing required field 'model'",
    ],
    "generation-temperature-string.toml": [
        "generation-temperature-string.toml:9: generation.temperature: expected a number, got '0.7' (a string)",
    ],
    "generation-unknown-key.toml": [
        'generation-unknown-key.toml:9: generation.temprature: unknown setting (known: model, adapter, max_tokens, temperature, top_p, top_k, min_p, presence_penalty, frequency_penalty, repetition_penalty, samples, seed, logprobs)',
    ],
    "instructions-file-missing.toml": [
        "instructions-file-missing.toml:11: rating.instructions: instructions file 'nowhere.md' not found (paths are relative to the design file)",
    ],
    "instructions-and-instructions-text.toml": [
        "instructions-and-instructions-text.toml:12: rating.instructions_text: give either instructions (a Markdown file) or instructions_text (the Markdown itself), not both",
    ],
    "instructions-text-empty.toml": [
        "instructions-text-empty.toml:11: rating.instructions_text: must not be empty (leave it out and raters see the default instructions)",
    ],
    "instructions-text-not-string.toml": [
        "instructions-text-not-string.toml:11: rating.instructions_text: expected a string, got 3 (a whole number)",
    ],
    "instructions-outside-folder.toml": [
        "instructions-outside-folder.toml:11: rating.instructions: instructions file '../../../../../../../../etc/passwd' lies outside the design's folder: '..' may not climb out of it",
    ],
    "instructions-absolute-path.toml": [
        "instructions-absolute-path.toml:11: rating.instructions: instructions file '/etc/passwd' is an absolute path: name a file inside the design's folder, relative to it",
    ],
    "instructions-not-a-file.toml": [
        "instructions-not-a-file.toml:11: rating.instructions: instructions file 'queries' is a folder, not a file",
    ],
    "level-name-with-space.toml": [
        "level-name-with-space.toml:14: factors[1].levels.two words: level name 'two words' must be letters, digits and '_'",
    ],
    "levels-with-same-value.toml": [
        "levels-with-same-value.toml:14: factors[1].levels.y: same value as level 'x': the two levels could not be told apart",
    ],
    "missing-name.toml": [
        "missing-name.toml: name: missing required field 'name'",
    ],
    "name-not-slug.toml": [
        "name-not-slug.toml:1: name: 'Honesty Tone' is not a slug (lowercase letters, digits and '-', at most 63)",
    ],
    "no-factors.toml": [
        'no-factors.toml:2: factors: at least one factor is needed',
        'no-factors.toml:5: prompt.system: unknown placeholder {a} (known: query)',
    ],
    "placeholder-with-format-spec.toml": [
        'placeholder-with-format-spec.toml:4: prompt.system: {a:>10} is not a plain {name} placeholder (write {{ and }} for literal braces)',
    ],
    "prompt-missing.toml": [
        "prompt-missing.toml: prompt: missing required field 'prompt'",
    ],
    "prompt-without-query.toml": [
        'prompt-without-query.toml:5: prompt.user: the prompt never uses {query}, so the model would not see the question',
    ],
    "queries-jsonl-bad-line.toml": [
        "queries/bad-line.jsonl:2: line: not valid JSON: Expecting ',' delimiter (column 30)",
    ],
    "queries-jsonl-duplicate-id.toml": [
        "queries/duplicate-id.jsonl:4: id: duplicate query id 'q1' (first at query 1)",
    ],
    "queries-jsonl-missing-file.toml": [
        "queries-jsonl-missing-file.toml:2: queries: queries file 'queries/missing.jsonl' not found (paths are relative to the design file)",
    ],
    "queries-outside-folder.toml": [
        "queries-outside-folder.toml:2: queries: queries file '../../../designs/examples/queries/science-ideas.jsonl' lies outside the design's folder: '..' may not climb out of it",
    ],
    "query-missing-id.toml": [
        'query-missing-id.toml:16: queries[1].id: missing',
    ],
    "rating-overlap-out-of-range.toml": [
        'rating-overlap-out-of-range.toml:11: rating.overlap: must be a share between 0 and 1',
    ],
    "rating-unknown-scale.toml": [
        "rating-unknown-scale.toml:11: rating.scale: '7-point': expected one of 2-way, 3-way, 5-point",
    ],
    "setting-factor-as-placeholder.toml": [
        'setting-factor-as-placeholder.toml:4: prompt.system: {temp} is a setting factor (target set); only text factors fill placeholders',
    ],
    "setting-wrong-type.toml": [
        "setting-wrong-type.toml:21: factors[2].levels.hot: generation.temperature takes a number, got 'very' (a string)",
    ],
    "several-problems-at-once.toml": [
        'several-problems-at-once.toml:2: foldover: expected true or false, got 1 (a whole number)',
        'several-problems-at-once.toml:10: generation.max_tokens: must be at least 1',
        "several-problems-at-once.toml:13: rating.scale: '5 point': expected one of 2-way, 3-way, 5-point",
    ],
    "single-level.toml": [
        "single-level.toml:12: factors[1].levels: factor 'a' needs at least two levels, has 1",
    ],
    "target-cannot-vary.toml": [
        "target-cannot-vary.toml:18: factors[2].target: 'generation.seed' describes the whole experiment and cannot vary by variant",
    ],
    "target-wrong-section.toml": [
        "target-wrong-section.toml:18: factors[2].target: unknown target 'sampling.temperature' (a factor can set: generation.model, generation.adapter, generation.max_tokens, generation.temperature, generation.top_p, generation.top_k, generation.min_p, generation.presence_penalty, generation.frequency_penalty, generation.repetition_penalty)",
    ],
    "text-level-not-string.toml": [
        "text-level-not-string.toml:14: factors[1].levels.y: a text factor's level is a string, got 3 (a whole number)",
    ],
    "toml-syntax.toml": [
        "toml-syntax.toml:2: toml: not valid TOML: Illegal character '\\n' (at line 2, column 22)",
    ],
    "top-level-field-after-table.toml": [
        'top-level-field-after-table.toml:15: queries: missing: give [[queries]] tables or queries = "file.jsonl"; the \'queries\' at line 15 is inside a table: in TOML, top-level fields must come before the first [table] header',
    ],
    "unknown-placeholder.toml": [
        'unknown-placeholder.toml:4: prompt.system: unknown placeholder {tone} (known: a, query)',
    ],
    "unknown-target.toml": [
        "unknown-target.toml:18: factors[2].target: unknown target 'generation.temp' (a factor can set: generation.model, generation.adapter, generation.max_tokens, generation.temperature, generation.top_p, generation.top_k, generation.min_p, generation.presence_penalty, generation.frequency_penalty, generation.repetition_penalty)",
    ],
    "unknown-top-level-key.toml": [
        'unknown-top-level-key.toml:2: foldovr: unknown field (expected one of: analysis, array, factors, foldover, generation, name, prompt, queries, question, rating, title)',
    ],
    "unused-text-factor.toml": [
        "unused-text-factor.toml:16: factors.b: text factor 'b' is not used by any {placeholder} in [prompt]",
    ],
    "arm-bad-generation.toml": [
        'arm-bad-generation.toml:13: factors[1].levels.teacher.generation.seed: generation.seed cannot vary by variant (a level can set: model, adapter, max_tokens, temperature, top_p, top_k, min_p, presence_penalty, frequency_penalty, repetition_penalty)',
        'arm-bad-generation.toml:14: factors[1].levels.student.generation.adapter: generation.adapter takes a string, got 7 (a whole number)',
    ],
    "arm-fills-unused-placeholder.toml": [
        "arm-fills-unused-placeholder.toml:10: factors.arm: factor 'arm' fills {tone}, but [prompt] has no {tone}",
    ],
    "arm-mixed-levels.toml": [
        "arm-mixed-levels.toml:14: factors[1].levels.student: expected a table like this factor's other levels, got 'runs/a' (a string) (a factor's levels are all values or all tables)",
    ],
    "arm-unknown-field.toml": [
        'arm-unknown-field.toml:14: factors[1].levels.student.model: unknown field (an arm level sets text = {placeholder = "..."} and generation = {key = value})',
    ],
    "arm-with-target.toml": [
        'arm-with-target.toml:12: factors[1].target: a factor whose levels are tables sets what its levels say; it takes no target',
    ],
    "every-query-held-out.toml": [
        'every-query-held-out.toml:16: queries: every query is held out; at least one must be generated and rated',
    ],
    "query-held-out-not-bool.toml": [
        "query-held-out-not-bool.toml:19: queries[1].held_out: expected true or false, got 'yes' (a string)",
    ],
    "two-factors-set-one-thing.toml": [
        "two-factors-set-one-thing.toml:16: factors: factors 'arm' and 'temperature' both set generation.temperature",
    ],
}


def problems_for(name):
    with pytest.raises(DesignError) as caught:
        load_design(MALFORMED / name)
    return [str(p).replace(str(MALFORMED) + "/", "") for p in caught.value.problems]


def test_the_corpus_is_large_and_complete():
    assert len(EXPECTED) >= 25
    assert sorted(EXPECTED) == sorted(p.name for p in MALFORMED.glob("*.toml"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_it_reports_exactly_the_expected_problems(name):
    assert problems_for(name) == EXPECTED[name]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["duplicate-factor-name.toml", "queries-jsonl-bad-line.toml",
                                  "several-problems-at-once.toml", "toml-syntax.toml"])
def test_create_experiment_writes_nothing_for_a_malformed_design(name):
    with pytest.raises(CommandError) as caught:
        call_command("create_experiment", str(MALFORMED / name))
    assert EXPECTED[name][0].split(": ", 1)[1] in str(caught.value)
    assert (Experiment.objects.count(), Factor.objects.count(), Variant.objects.count(), Query.objects.count()) == (0, 0, 0, 0)


@pytest.mark.parametrize("name", ["unknown-placeholder.toml", "setting-wrong-type.toml"])
def test_plan_fails_with_the_message(name):
    with pytest.raises(CommandError) as caught:
        call_command("plan", str(MALFORMED / name))
    assert EXPECTED[name][0].split(": ", 1)[1] in str(caught.value)
