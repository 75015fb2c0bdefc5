"""Hostile answers files: every value the database cannot hold is refused with FILE:LINE: FIELD.

Before these checks, NUL in a text, a count of 2**31 or more, a negative latency, a model name
over 500 characters and a NaN log-probability each reached the database and raised there
(a 500 in the console); deep nesting raised RecursionError. The import must write nothing.
"""
import json

import pytest
from django.core.management import CommandError, call_command

from designs import limits
from evalplat.generation.backends.replay import ReplayError, read_replay_file
from evalplat.generation.models import Answer
from tests.generation.conftest import write_replay


def line(**fields):
    return json.dumps({"variant": "v1", "query": "sky", "sample": 0, "text": "hello"} | fields)


def top(*logprobs):
    return [{"token": "a", "logprob": value, "top_logprobs": [{"token": "a", "logprob": value}]} for value in logprobs]


HOSTILE = [
    (line(text="nul\u0000here"), "text: contains a NUL character (\\u0000) at character 4"),
    ('{"variant": "v1", "query": "sky", "text": "x\\ud83d"}', "text: contains an unpaired surrogate (\\ud83d)"),
    (line(text="x" * (limits.MARKDOWN + 1)), "text: 100,001 characters; at most 100,000 are allowed"),
    (line(prompt_tokens=2**31), "prompt_tokens: 2147483648 is too large: at most 2,147,483,647"),
    (line(completion_tokens=2**63), "completion_tokens: 9223372036854775808 is too large"),
    (line(latency_ms=-5), "latency_ms: must be 0 or more"),
    (line(completion_tokens=-1), "completion_tokens: must be 0 or more"),
    (line(sample=2**31), "sample: 2147483648 is too large"),
    (line(model="m" * 501), "model: 501 characters; at most 500 are allowed"),
    (line(model="a\u0000b"), "model: contains a NUL character"),
    (line(finish_reason="st\u0000op"), "finish_reason: contains a NUL character"),
    (line(variant="v\u00001"), "variant: contains a NUL character"),
    (line(logprobs=top(-0.5, float("nan"))), "logprobs[2].logprob: nan is not a finite number"),
    (line(logprobs=top(float("-inf"))), "logprobs[1].logprob: -inf is not a finite number"),
    (line(logprobs=top(710.0)), "logprobs[1].logprob: 710.0 is above 0; a log-probability is at most 0"),
    (line(logprobs=[{"token": "a", "logprob": 0, "top_logprobs": [{"token": "b", "logprob": 710}]}]),
     "logprobs[1].logprob: 710.0 is above 0"),
    (line(logprobs=[{"token": "a\u0000", "logprob": -1.0}]), "logprobs[1].token: contains a NUL character"),
    (line(logprobs=[{"token": "a", "logprob": -1.0, "top_logprobs": [{"token": "b", "logprob": "NaN"}]}]),
     "logprobs[1].logprob: nan is not a finite number"),
    (line(logprobs=[{"token": "a", "logprob": -1.0,
                     "top_logprobs": [{"token": str(i), "logprob": -1.0} for i in range(21)]}]),
     "logprobs[1].top_logprobs: 21 alternatives; at most 20 are stored"),
    (line(logprobs=[{"token": "t" * 1001, "logprob": -1.0}]), "logprobs[1].token: 1,001 characters; at most 1,000"),
    ('{"variant": "v1", "query": "sky", "text": "t", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
     "nested deeper than 32 levels"),
    ('{"variant": "v1", "query": "sky", "text": "t", "x": ' + "[" * 40 + "]" * 40 + "}", "nested deeper than 32 levels"),
    ('{"variant": "v1", "query": "sky", "text": "t", "sample": ' + "1" * 5000 + "}", "not readable: Exceeds the limit"),
]


@pytest.mark.parametrize("text,problem", HOSTILE, ids=[problem[:40] for _, problem in HOSTILE])
def test_a_hostile_value_is_named_with_its_line_and_field(tmp_path, text, problem):
    path = tmp_path / "answers.jsonl"
    path.write_text(line(query="tides") + "\n" + text + "\n", encoding="utf-8", errors="surrogatepass")
    with pytest.raises(ReplayError) as caught:
        read_replay_file(path)
    assert caught.value.problems == [f"{path}:2: {problem}"] or str(caught.value).startswith(f"{path}:2: {problem}")


def test_too_many_logprob_tokens_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "LOGPROB_TOKENS", 3)
    path = tmp_path / "answers.jsonl"
    path.write_text(line(logprobs=top(-1.0, -1.0, -1.0, -1.0)))
    with pytest.raises(ReplayError, match=r":1: logprobs: 4 tokens; at most 3 are stored per answer"):
        read_replay_file(path)


def test_a_file_over_the_size_limit_is_refused_without_reading_it_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "ANSWERS_FILE_BYTES", 100)
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join(line(query=f"q{i}") for i in range(10)))
    with pytest.raises(ReplayError, match="larger than 100 bytes, the most an answers file may hold"):
        read_replay_file(path)


@pytest.mark.django_db
@pytest.mark.parametrize("fields", [
    {"text": "a\u0000b"}, {"prompt_tokens": 2**31}, {"latency_ms": -1}, {"model": "m" * 501},
])
def test_import_answers_refuses_and_writes_nothing(experiment, tmp_path, fields):
    path = write_replay(tmp_path / "a.jsonl", experiment, skip={("v1", "sky", 0)},
                        extra_lines=[line(**fields)])
    with pytest.raises(CommandError, match=r"a.jsonl:32: "):
        call_command("import_answers", "small", str(path))
    assert not Answer.objects.filter(status="done").exists()


@pytest.mark.django_db
def test_a_nan_logprob_is_refused_by_the_import(experiment, tmp_path):
    path = write_replay(tmp_path / "a.jsonl", experiment, skip={("v1", "sky", 0)},
                        extra_lines=[line(logprobs=top(float("nan")))])
    with pytest.raises(CommandError, match=r"a.jsonl:32: logprobs\[1\].logprob: nan is not a finite number"):
        call_command("import_answers", "small", str(path))
    assert not Answer.objects.filter(status="done").exists()
