"""The replay backend, the replay file's checks, and manage.py import_answers."""
import json

import pytest
from django.core.management import CommandError, call_command

from evalplat.generation.backends.base import GenerationRequest
from evalplat.generation.backends.replay import ReplayBackend, ReplayError, read_replay_file
from evalplat.generation.models import Answer
from tests.generation.conftest import write_replay


def line(**fields):
    return json.dumps({"variant": "v1", "query": "sky", "sample": 0, "text": "hello"} | fields)


def request(key):
    return GenerationRequest(messages=(), model="m", max_tokens=1, temperature=0.0, key=key)


def test_the_backend_answers_by_key_in_request_order(tmp_path):
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join([line(text="one"), "", line(query="tides", text="two", logprobs=[
        {"token": "two", "logprob": -0.25, "top_logprobs": [{"token": "two", "logprob": -0.25}]}])]))
    results = ReplayBackend(path).generate([request(("v1", "tides", 0)), request(("v1", "sky", 0))])
    assert [r.text for r in results] == ["two", "one"]
    assert results[0].logprobs[0].top == (("two", -0.25),)


def test_a_key_missing_from_the_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "answers.jsonl"
    path.write_text(line())
    result, = ReplayBackend(path).generate([request(("v2", "sky", 0))])
    assert not result.ok and result.error == f"{path} has no line for variant v2, query sky, sample 0"


@pytest.mark.parametrize("text, problem", [
    ("{not json", ":1: not valid JSON"),
    ("[1, 2]", ":1: expected a JSON object"),
    (json.dumps({"variant": "v1", "query": "sky"}), ":1: text: missing"),
    (line(sample="0"), ":1: sample: expected a whole number"),
    (line(sample=-1), ":1: sample: must be 0 or more"),
    (line(text=None), ":1: text: expected a string"),
    (line(logprobs=[{"logprob": -1}]), ":1: logprobs:"),
    (line() + "\n" + line(text="again"), ":2: duplicate of line 1 (variant v1, query sky, sample 0)"),
    ("\n\n", ": no answers in the file"),
])
def test_every_bad_line_is_reported_with_its_number(tmp_path, text, problem):
    path = tmp_path / "answers.jsonl"
    path.write_text(text)
    with pytest.raises(ReplayError) as caught:
        read_replay_file(path)
    assert f"{path}{problem}" in str(caught.value)


def test_all_problems_are_reported_at_once(tmp_path):
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join(["{", line(), line(), "7"]))
    with pytest.raises(ReplayError) as caught:
        read_replay_file(path)
    assert [p.split(": ")[0] for p in caught.value.problems] == [f"{path}:1", f"{path}:3", f"{path}:4"]


def test_an_unreadable_file_is_a_clear_error(tmp_path):
    with pytest.raises(ReplayError, match="cannot read"):
        read_replay_file(tmp_path / "nope.jsonl")


@pytest.mark.django_db
def test_import_answers_writes_every_answer(experiment, tmp_path):
    path = write_replay(tmp_path / "a.jsonl", experiment)
    call_command("import_answers", "small", str(path))
    answers = Answer.objects.filter(experiment=experiment)
    assert answers.count() == 32 and set(answers.values_list("status", flat=True)) == {"done"}
    answer = answers.get(variant__code="v3", query__key="tides")
    assert answer.text == "replayed v3/tides/0" and answer.backend == "replay" and answer.completion_tokens == 3
    assert answer.messages[-1] == {"role": "user", "content": "What causes tides?"}


@pytest.mark.django_db
def test_import_names_the_line_of_an_unknown_variant_and_writes_nothing(experiment, tmp_path):
    path = write_replay(tmp_path / "a.jsonl", experiment, extra_lines=[line(variant="v99")])
    with pytest.raises(CommandError) as caught:
        call_command("import_answers", "small", str(path))
    assert f"{path}:33: small has no answer for variant v99, query sky, sample 0" in str(caught.value)
    assert not Answer.objects.exists()


@pytest.mark.django_db
def test_import_lists_missing_answers_unless_partial(experiment, tmp_path):
    path = write_replay(tmp_path / "a.jsonl", experiment, skip={("v2", "budget", 0)})
    with pytest.raises(CommandError, match="no line for variant v2, query budget, sample 0"):
        call_command("import_answers", "small", str(path))
    assert not Answer.objects.exists()
    call_command("import_answers", "small", str(path), "--partial")
    assert Answer.objects.filter(status="done").count() == 31
    assert Answer.objects.get(variant__code="v2", query__key="budget").status == "pending"


@pytest.mark.django_db
def test_import_refuses_to_overwrite_an_answer(experiment, tmp_path):
    path = write_replay(tmp_path / "a.jsonl", experiment)
    call_command("import_answers", "small", str(path))
    again = tmp_path / "b.jsonl"
    again.write_text(line(text="different"))
    with pytest.raises(CommandError, match=":1: variant v1, query sky, sample 0 already has an answer"):
        call_command("import_answers", "small", str(again), "--partial")
    assert Answer.objects.get(variant__code="v1", query__key="sky").text == "replayed v1/sky/0"


@pytest.mark.django_db
def test_import_of_an_unknown_experiment_is_an_error():
    with pytest.raises(CommandError, match="no experiment named 'nope'"):
        call_command("import_answers", "nope", "x.jsonl")
