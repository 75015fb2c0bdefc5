"""The backend interface: generation requests in, results out, in the same order.

Nothing here imports vllm, torch or Django: the web app and the planner use these types, and only
a worker that runs the `vllm` backend ever loads the engine.
"""
import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class GenerationRequest:
    """One chat completion to make. `key` identifies it to the caller (and to the replay backend)."""

    messages: tuple  # ({"role": ..., "content": ...}, ...)
    model: str
    max_tokens: int
    temperature: float
    top_p: float = 1.0
    seed: int | None = None
    logprobs: int = 0  # how many top alternatives to return per generated token; 0 = none
    top_k: int | None = None
    min_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    repetition_penalty: float | None = None
    key: tuple = ()  # (variant code, query key, sample)
    adapter: str = ""  # a LoRA adapter directory on `model`; "" for none

    # Sampling knobs the design file may set; None means "the engine's default".
    OPTIONAL_SAMPLING = ("top_k", "min_p", "presence_penalty", "frequency_penalty", "repetition_penalty")

    def optional_sampling(self):
        return {name: getattr(self, name) for name in self.OPTIONAL_SAMPLING if getattr(self, name) is not None}


TAIL_FLOOR = -30.0  # log of "no measurable mass left": exp(-30) ~ 1e-13, below a float32 sum's rounding


def tail_logprob(top_logprobs):
    """log(1 - sum(exp(top))): the log of the probability mass outside the given alternatives."""
    if not top_logprobs:
        return 0.0
    # min(lp, 0): a log-probability above 0 is malformed input (replay files refuse it); it must
    # not overflow exp() on the way to being refused.
    rest = 1.0 - math.fsum(math.exp(min(lp, 0.0)) for lp in top_logprobs)
    return max(math.log(rest), TAIL_FLOOR) if rest > 0 else TAIL_FLOOR


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token, its log-probability, and the top alternatives at that position.

    Ids and the tail are known when the backend returned them (see evalplat/generation/logprobs.py).
    """

    token: str
    logprob: float
    top: tuple = ()  # ((token, logprob), ...) best first
    token_id: int | None = None
    top_ids: tuple = ()  # the alternatives' vocabulary ids, in the order of `top`
    tail_logprob: float | None = None  # log of the mass outside `top`

    @property
    def tail(self):
        """log(1 - sum(exp(top))), from the stored value when there is one."""
        return self.tail_logprob if self.tail_logprob is not None else tail_logprob([lp for _, lp in self.top])


@dataclass
class GenerationResult:
    text: str = ""
    finish_reason: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: int = 0
    logprobs: list = field(default_factory=list)  # [TokenLogprob, ...] when requested
    error: str = ""  # non-empty: the request failed and the other fields mean nothing
    engine_version: str = ""
    model_hash: str = ""
    adapter_hash: str = ""

    @property
    def ok(self):
        return not self.error


class Backend:
    """Subclasses implement generate(); a backend object lives for a worker process's lifetime."""

    name = ""

    def generate(self, requests):
        """Return one GenerationResult per request, in the order given.

        A request that fails is reported through its result's `error`; an exception means the
        whole batch could not run (the caller retries it later).
        """
        raise NotImplementedError

    def close(self):
        """Release engines, connections and processes."""


class Stopwatch:
    """Milliseconds since creation, for latency_ms."""

    def __init__(self):
        self.start = time.perf_counter()

    def elapsed_ms(self):
        return round((time.perf_counter() - self.start) * 1000)


def local_model_hash(model):
    """sha256 over a local model (or adapter) directory's file names and contents, or '' for a hub id.

    Recorded with each answer so a result can be traced to the exact weights, even when a
    directory is later overwritten in place.
    """
    path = Path(model)
    if not path.is_dir():
        return ""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode() + b"\0")
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
