"""Fuzzing the answers (replay) JSONL: random lines and valid files with one field mutated.
read_replay_file gives answers or ReplayError whose every problem names the file (and the line
where there is one); import_answers writes nothing when it refuses."""
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalplat.generation.backends.replay import ReplayError, read_replay_file
from evalplat.generation.importing import import_answers
from tests.fuzz.helpers import assert_placed, rolled_back, row_counts
from tests.fuzz.strategies import HOSTILE_NUMBERS, HOSTILE_STRINGS, any_text, json_value

FIELDS = ["variant", "query", "sample", "text", "finish_reason", "prompt_tokens", "completion_tokens",
          "latency_ms", "model", "logprobs"]
QUERIES = ["sky", "tides", "apology", "budget"]


def valid_lines():
    return [{"variant": f"v{v}", "query": q, "sample": 0, "text": f"answer {v} {q}", "completion_tokens": 3,
             "logprobs": [{"token": "a", "logprob": -0.5, "top_logprobs": [{"token": "a", "logprob": -0.5}]}]}
            for v in range(1, 9) for q in QUERIES]


def logprobs_value():
    entry = st.fixed_dictionaries({"token": HOSTILE_STRINGS, "logprob": HOSTILE_NUMBERS},
                                  optional={"top_logprobs": st.lists(st.fixed_dictionaries(
                                      {"token": HOSTILE_STRINGS, "logprob": HOSTILE_NUMBERS}), max_size=3)})
    return st.one_of(st.lists(entry, max_size=3), HOSTILE_STRINGS, HOSTILE_NUMBERS)


@st.composite
def mutated_file(draw):
    lines = valid_lines()
    for _ in range(draw(st.integers(1, 3))):
        line = draw(st.sampled_from(lines))
        field = draw(st.sampled_from(FIELDS + ["unknown"]))
        line[field] = draw(st.one_of(HOSTILE_STRINGS, HOSTILE_NUMBERS, logprobs_value(), st.none()))
    text = [json.dumps(line) for line in lines]
    if draw(st.booleans()):
        text.insert(draw(st.integers(0, len(text))), draw(st.one_of(json_value(), any_text.map(
            lambda t: t.replace("\n", " ")))))
    return "\n".join(text)


def write(path, text):
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


def check_read(path):
    try:
        return read_replay_file(path)
    except ReplayError as exc:
        assert_placed(exc.problems, [str(path)])
        return None


@given(st.lists(st.one_of(json_value(), any_text.map(lambda t: t.replace("\n", " "))), max_size=5))
def test_random_lines(tmp_path_factory, lines):
    check_read(write(tmp_path_factory.mktemp("answers") / "a.jsonl", "\n".join(lines)))


@given(st.binary(max_size=300))
def test_random_bytes(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("answers") / "a.jsonl"
    path.write_bytes(data)
    check_read(path)


@pytest.mark.django_db
@settings(max_examples=100)  # each example imports into the database
@given(mutated_file())
def test_near_valid_files_import_or_write_nothing(experiment, tmp_path_factory, text):
    path = write(tmp_path_factory.mktemp("answers") / "a.jsonl", text)
    with rolled_back():
        before = row_counts()
        try:
            count = import_answers(experiment, path, partial=True)
        except ReplayError as exc:
            assert_placed(exc.problems, [str(path)])
            assert row_counts() == before
        else:
            assert count > 0
