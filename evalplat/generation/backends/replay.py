"""Answers produced elsewhere, read from a JSONL file keyed by (variant, query, sample).

Each line is an object: {"variant": "v1", "query": "QUERY-ID", "sample": 0, "text": "..."} and
optionally "finish_reason", "prompt_tokens", "completion_tokens", "latency_ms", "model" and
"logprobs" (the OpenAI chat format: [{"token", "logprob", "top_logprobs": [{"token", "logprob"}]}]).
The file is checked whole before anything uses it: every problem is reported with its line,
including values the database could not hold (NUL characters, counts beyond its integers,
NaN log-probabilities, which JSON allows and PostgreSQL's jsonb refuses) and the documented
limits of designs/limits.py (answer length, log-probability tokens, file size).
"""
import json
import math
from dataclasses import dataclass
from pathlib import Path

from designs import limits
from evalplat.generation import logprobs
from evalplat.generation.backends.base import Backend, GenerationResult

LOGPROB_ROUNDING = 1e-4  # engines round; a log-probability this far above 0 is still "0"

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
        with open(path, "rb") as stream:
            data = stream.read(limits.ANSWERS_FILE_BYTES + 1)
        if len(data) > limits.ANSWERS_FILE_BYTES:
            raise ReplayError([f"{path}: larger than {limits.ANSWERS_FILE_BYTES:,} bytes, the most an answers "
                               "file may hold; split it and import the parts with --partial"])
        lines = data.decode("utf-8").splitlines()
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
    except RecursionError:
        raise ValueError(f"nested deeper than {limits.NESTING} levels") from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise ValueError(f"not readable: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    if limits.nesting_depth(data) > limits.NESTING:
        raise ValueError(f"nested deeper than {limits.NESTING} levels")
    variant = _text(data, "variant", limit=limits.NAME)
    query = _text(data, "query", limit=limits.QUERY_ID)
    sample = _count(data, "sample")
    result = GenerationResult(
        text=_text(data, "text", limit=limits.MARKDOWN),
        finish_reason=_text(data, "finish_reason", default="stop"),
        prompt_tokens=_count(data, "prompt_tokens"),
        completion_tokens=_count(data, "completion_tokens"),
        latency_ms=_count(data, "latency_ms"),
        logprobs=_logprobs(data.get("logprobs")),
        engine_version="replay",
    )
    return (variant, query, sample), ReplayAnswer(line=number, model=_text(data, "model", limit=limits.MODEL, default=""),
                                                  result=result)


def _logprobs(items):
    if items is None:
        return []
    try:
        tokens = logprobs.from_openai(items)
    except ValueError as exc:
        raise ValueError(f"logprobs: {exc}") from None
    if len(tokens) > limits.LOGPROB_TOKENS:
        raise ValueError(f"logprobs: {len(tokens):,} tokens; at most {limits.LOGPROB_TOKENS:,} are stored per answer")
    for index, token in enumerate(tokens, start=1):
        if len(token.top) > limits.LOGPROB_TOP:
            raise ValueError(f"logprobs[{index}].top_logprobs: {len(token.top)} alternatives; "
                             f"at most {limits.LOGPROB_TOP} are stored")
        for text, value in ((token.token, token.logprob), *token.top):
            problem = limits.text_problem(text, limits.TOKEN)
            if problem:
                raise ValueError(f"logprobs[{index}].token: {problem}")
            if not math.isfinite(value):
                raise ValueError(f"logprobs[{index}].logprob: {value!r} is not a finite number")
            if value > LOGPROB_ROUNDING:
                raise ValueError(f"logprobs[{index}].logprob: {value!r} is above 0; a log-probability is at most 0")
    return tokens


def _text(data, name, limit=None, default=None):
    value = _field(data, name, str, default)
    problem = limits.text_problem(value, limit)
    if problem:
        raise ValueError(f"{name}: {problem}")
    return value


def _count(data, name):
    """A sample number, token count or latency: a whole number that fits the database's integers."""
    value = _field(data, name, int, default=0)
    if value < 0:
        raise ValueError(f"{name}: must be 0 or more")
    problem = limits.number_problem(value, 0, limits.INT32)
    if problem:
        raise ValueError(f"{name}: {problem}")
    return value


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
