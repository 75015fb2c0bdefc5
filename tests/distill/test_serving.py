"""Checkpoints and adapters through the openai backend: a server per model, vLLM's named LoRA
modules in the request's `model` field, token ids asked of a vLLM server only."""
import pytest

from evalplat.generation.backends import backend_for
from evalplat.generation.backends.base import GenerationRequest
from evalplat.generation.backends.openai import OpenAIBackend
from tests.generation.openai_peer import Peer


@pytest.fixture
def two_peers():
    first, second = Peer().start(), Peer().start()
    yield first, second
    first.stop()
    second.stop()


def request(model, adapter="", n=0, logprobs=0):
    return GenerationRequest(messages=({"role": "user", "content": f"q{n}"},), model=model, adapter=adapter,
                             max_tokens=5, temperature=0.0, seed=n, logprobs=logprobs, key=("v1", f"q{n}", 0))


def test_each_model_goes_to_its_own_server_and_the_rest_to_the_base_url(two_peers):
    default, tuned = two_peers
    backend = OpenAIBackend(default.base_url, retries=0, concurrency=1, servers={"runs/tuned": tuned.base_url})
    results = backend.generate([request("org/base", n=0), request("runs/tuned", n=1), request("org/base", n=2)])
    assert all(r.ok for r in results)
    assert [b["model"] for b in default.requests] == ["org/base", "org/base"]
    assert [b["model"] for b in tuned.requests] == ["runs/tuned"]


def test_an_adapter_is_addressed_by_its_lora_module_name(peer):
    backend = OpenAIBackend(peer.base_url, retries=0, concurrency=1, lora_modules={"runs/x/adapter": "honest-v3"})
    backend.generate([request("org/base", adapter="runs/x/adapter"), request("org/base", adapter="other-module"),
                      request("org/base")])
    assert [b["model"] for b in peer.requests] == ["honest-v3", "other-module", "org/base"]


def test_token_ids_are_asked_of_a_vllm_server_only(peer, monkeypatch):
    backend = OpenAIBackend(peer.base_url, retries=0)
    backend.generate([request("m", logprobs=2)])
    assert peer.requests[-1]["return_tokens_as_token_ids"] is True  # the peer answers /version as vLLM does

    async def not_vllm(client, url):
        return ""

    monkeypatch.setattr(backend, "_engine_version", not_vllm)
    backend.generate([request("m", logprobs=2)])
    assert "return_tokens_as_token_ids" not in peer.requests[-1]


def test_the_settings_reach_the_backend(settings):
    settings.GENERATION_OPENAI_SERVERS = {"runs/tuned": "http://127.0.0.1:9/v1"}
    settings.GENERATION_OPENAI_LORA_MODULES = {"runs/a": "a"}
    backend = backend_for("openai", {})
    assert backend.servers == {"runs/tuned": "http://127.0.0.1:9/v1"} and backend.lora_modules == {"runs/a": "a"}


def test_a_mapping_setting_names_a_malformed_pair(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from evalplat.settings import envmapping

    monkeypatch.setenv("X_MAP", "a=http://h/v1, b")
    with pytest.raises(ImproperlyConfigured, match="X_MAP: 'b' is not key=value"):
        envmapping("X_MAP")
    monkeypatch.setenv("X_MAP", "runs/a=http://h:8001/v1?x=1")
    assert envmapping("X_MAP") == {"runs/a": "http://h:8001/v1?x=1"}
