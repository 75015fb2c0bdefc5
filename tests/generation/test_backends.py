"""Backend plumbing that needs no engine: stored log-probabilities, grouping by model, hashing,
and that nothing imports vllm or torch until a vLLM backend generates."""
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evalplat.generation import logprobs
from evalplat.generation.backends import backend_for
from evalplat.generation.backends.base import TAIL_FLOOR, GenerationRequest, TokenLogprob, local_model_hash
from evalplat.generation.backends.vllm import adapter_batches, adapter_rank, group_by_model

ROOT = Path(__file__).resolve().parents[2]


def test_logprobs_are_stored_columnar_and_read_back():
    tokens = [TokenLogprob("Hel", -0.123456, (("Hel", -0.123456), ("Hi", -2.5)), token_id=7, top_ids=(7, 9)),
              TokenLogprob("lo", -1.0, (("lo", -1.0), ("p", -3.25)), token_id=4, top_ids=(4, 2))]
    packed = logprobs.pack(tokens)
    # The tail is the mass outside the stored alternatives, from the unrounded values.
    tails = [round(math.log(1 - math.exp(-0.123456) - math.exp(-2.5)), 4),
             round(math.log(1 - math.exp(-1.0) - math.exp(-3.25)), 4)]
    assert packed == {"tokens": ["Hel", "lo"], "logprobs": [-0.1235, -1.0],
                      "top_tokens": [["Hel", "Hi"], ["lo", "p"]], "top_logprobs": [[-0.1235, -2.5], [-1.0, -3.25]],
                      "token_ids": [7, 4], "top_ids": [[7, 9], [4, 2]], "tail_logprobs": tails}
    assert logprobs.unpack(packed)[1] == TokenLogprob("lo", -1.0, (("lo", -1.0), ("p", -3.25)), token_id=4,
                                                      top_ids=(4, 2), tail_logprob=tails[1])
    assert logprobs.has_token_ids(packed)
    assert logprobs.pack([]) is None and logprobs.unpack(None) == []


def test_rows_stored_before_ids_and_tails_still_read():
    old = {"tokens": ["lo"], "logprobs": [-1.0], "top_tokens": [["lo", "p"]], "top_logprobs": [[-1.0, -3.25]]}
    (token,) = logprobs.unpack(old)
    assert token.token_id is None and token.top_ids == () and not logprobs.has_token_ids(old)
    assert token.tail == pytest.approx(math.log(1 - math.exp(-1.0) - math.exp(-3.25)))


def test_a_tail_too_small_to_measure_is_floored():
    assert logprobs.tail_logprob([0.0]) == TAIL_FLOOR and logprobs.tail_logprob([-1e-15]) == TAIL_FLOOR


def test_vllm_server_token_ids_are_read():
    read = logprobs.from_openai([{"token": "token_id:5", "logprob": -0.2, "top_logprobs": [
        {"token": "token_id:9", "logprob": -1.9}, {"token": "token_id:5", "logprob": -0.2}]}])
    assert (read[0].token_id, read[0].top_ids) == (5, (5, 9))
    assert logprobs.has_token_ids(logprobs.pack(read))


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


def test_adapters_are_batched_within_the_engines_limit_and_ranked_as_vllm_allows(tmp_path):
    assert adapter_batches([0, 1, 2, 3, 4, 5], ["", "a", "b", "a", "c", ""], 2) == [[0, 1, 2, 3], [4, 5]]
    assert adapter_batches([0, 1], ["", ""], 1) == [[0, 1]]
    (tmp_path / "adapter_config.json").write_text('{"r": 12}')
    assert adapter_rank(tmp_path) == 16


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
