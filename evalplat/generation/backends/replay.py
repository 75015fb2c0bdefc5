"""Answers produced elsewhere, read from a JSONL file keyed by (variant, query, sample).

Each line is an object: {"variant": "v1", "query": "QUERY-ID", "sample": 0, "text": "..."} and
optionally "finish_reason", "prompt_tokens", "completion_tokens", "latency_ms", "model" and
"logprobs" (the OpenAI chat format: [{"token", "logprob", "top_logprobs": [{"token", "logprob"}]}]).
The file is checked whole before anything uses it: every problem is reported with its line.
"""
import json
from dataclasses import dataclass
from pathlib import Path

from evalplat.generation import logprobs
from evalplat.generation.backends.base import Backend, GenerationResult

MAX_PROBLEMS = 20


class ReplayError(ValueError):
    def __init__(self, problems):
        self.problems = list(problems)
        shown = self.problems[:MAX_PROBLEMS]
        more = len(self.problems) - len(shown)
        super().__init__("\n".join(shown + ([f"... and {more} more"] if more > 0 else [])))


@dataclass(frozen=True)
class ReplayAnswer:
    line: int
    model: str
    result: GenerationResult


def read_replay_file(path):
    """{(variant, query, sample): ReplayAnswer}; raises ReplayError naming every bad line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ReplayError([f"{path}: cannot read: {exc}"]) from None
    answers, problems = {}, []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            key, answer = _parse_line(raw, number)
        except ValueError as exc:
            problems.append(f"{path}:{number}: {exc}")
            continue
        if key in answers:
            problems.append(f"{path}:{number}: duplicate of line {answers[key].line} "
                            f"(variant {key[0]}, query {key[1]}, sample {key[2]})")
            continue
        answers[key] = answer
    if problems:
        raise ReplayError(problems)
    if not answers:
        raise ReplayError([f"{path}: no answers in the file"])
    return answers


def _parse_line(raw, number):
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    variant = _field(data, "variant", str)
    query = _field(data, "query", str)
    sample = _field(data, "sample", int, default=0)
    if sample < 0:
        raise ValueError("sample: must be 0 or more")
    result = GenerationResult(
        text=_field(data, "text", str),
        finish_reason=_field(data, "finish_reason", str, default="stop"),
        prompt_tokens=_field(data, "prompt_tokens", int, default=0),
        completion_tokens=_field(data, "completion_tokens", int, default=0),
        latency_ms=_field(data, "latency_ms", int, default=0),
        logprobs=_logprobs(data.get("logprobs")),
        engine_version="replay",
    )
    return (variant, query, sample), ReplayAnswer(line=number, model=_field(data, "model", str, default=""),
                                                  result=result)


def _logprobs(items):
    if items is None:
        return []
    try:
        return logprobs.from_openai(items)
    except ValueError as exc:
        raise ValueError(f"logprobs: {exc}") from None


def _field(data, name, kind, default=None):
    if name not in data:
        if default is None:
            raise ValueError(f"{name}: missing")
        return default
    value = data[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{name}: expected {'a string' if kind is str else 'a whole number'}, got {value!r:.60}")
    return value


def missing_keys(answers, keys):
    """The keys (in the order given) that the replay file has no answer for."""
    return [key for key in keys if key not in answers]


class ReplayBackend(Backend):
    name = "replay"

    def __init__(self, path):
        self.path = Path(path)
        self.answers = read_replay_file(self.path)

    def generate(self, requests):
        results = []
        for request in requests:
            answer = self.answers.get(tuple(request.key))
            if answer is None:
                variant, query, sample = request.key
                results.append(GenerationResult(
                    error=f"{self.path} has no line for variant {variant}, query {query}, sample {sample}"))
            else:
                results.append(GenerationResult(**vars(answer.result)))
        return results
