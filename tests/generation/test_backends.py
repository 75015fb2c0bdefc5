"""Backend plumbing that needs no engine: stored log-probabilities, grouping by model, hashing,
and that nothing imports vllm or torch until a vLLM backend generates."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evalplat.generation import logprobs
from evalplat.generation.backends import backend_for
from evalplat.generation.backends.base import GenerationRequest, TokenLogprob, local_model_hash
from evalplat.generation.backends.vllm import group_by_model

ROOT = Path(__file__).resolve().parents[2]


def test_logprobs_are_stored_columnar_and_read_back():
    tokens = [TokenLogprob("Hel", -0.123456, (("Hel", -0.123456), ("Hi", -2.5))),
              TokenLogprob("lo", -1.0, (("lo", -1.0), ("p", -3.25)))]
    packed = logprobs.pack(tokens)
    assert packed == {"tokens": ["Hel", "lo"], "logprobs": [-0.1235, -1.0],
                      "top_tokens": [["Hel", "Hi"], ["lo", "p"]], "top_logprobs": [[-0.1235, -2.5], [-1.0, -3.25]]}
    assert logprobs.unpack(packed)[1] == tokens[1]
    assert logprobs.pack([]) is None and logprobs.unpack(None) == []


def test_openai_logprobs_are_put_best_first():
    read = logprobs.from_openai([{"token": "a", "logprob": -3.0, "top_logprobs": [
        {"token": "a", "logprob": -3.0}, {"token": "b", "logprob": -0.5}]}])
    assert read[0].top == (("b", -0.5), ("a", -3.0))
    with pytest.raises(ValueError, match="expected a list"):
        logprobs.from_openai({"token": "a"})


def test_requests_are_grouped_by_model_in_order_of_first_appearance():
    def request(model):
        return GenerationRequest(messages=(), model=model, max_tokens=1, temperature=0.0)

    assert group_by_model([request("b"), request("a"), request("b"), request("c")]) == [
        ("b", [0, 2]), ("a", [1]), ("c", [3])]


def test_a_local_model_hash_follows_its_files(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    first = local_model_hash(tmp_path)
    assert len(first) == 64 and local_model_hash(tmp_path) == first
    (tmp_path / "config.json").write_text('{"x": 1}')
    assert local_model_hash(tmp_path) != first
    assert local_model_hash("Qwen/Qwen2.5-7B-Instruct") == ""


def test_an_unknown_backend_is_named():
    with pytest.raises(ValueError, match="unknown backend 'tgi'; expected one of vllm, openai, replay"):
        backend_for("tgi", {})


def test_the_vllm_backend_is_kept_across_changes_to_other_settings(settings, monkeypatch):
    first = backend_for("vllm", {})
    settings.GENERATION_CHUNK_SIZE = 7
    assert backend_for("vllm", {}) is first
    settings.GENERATION_VLLM_MAX_MODEL_LEN = 512
    assert backend_for("vllm", {}).engine_options["max_model_len"] == 512


def test_nothing_imports_vllm_or_torch_until_a_vllm_backend_generates():
    code = (
        "import sys, django; django.setup()\n"
        "import evalplat.generation.tasks, evalplat.generation.importing, evalplat.generation.admin\n"
        "from evalplat.generation.backends import backend_for\n"
        "backend_for('vllm', {})\n"
        "import django.core.management.commands.runserver\n"
        "heavy = sorted(m for m in ('vllm', 'torch', 'transformers') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT,
                   env={"DJANGO_SETTINGS_MODULE": "evalplat.settings", "PATH": "/usr/bin:/bin",
                        "SECRET_KEY": os.environ["SECRET_KEY"]})
