"""The openai backend against a scripted local peer: order, fields, retries and every error path."""
import socket

import pytest

from evalplat.generation.backends.base import GenerationRequest
from evalplat.generation.backends.openai import OpenAIBackend
from tests.generation.openai_peer import expected_text


def request(n, **overrides):
    fields = dict(messages=({"role": "system", "content": "Be brief."}, {"role": "user", "content": f"question {n}"}),
                  model="peer-model", max_tokens=20, temperature=0.7, seed=n, key=("v1", f"q{n}", 0))
    return GenerationRequest(**(fields | overrides))


def backend(peer, **overrides):
    options = dict(concurrency=4, timeout=5.0, retries=3, backoff=0.01)
    return OpenAIBackend(peer.base_url, **(options | overrides))


def body_of(req):
    return {"messages": list(req.messages), "seed": req.seed, "model": req.model}


def test_it_returns_results_in_input_order_with_many_requests_in_flight(peer):
    peer.delay = 0.05
    requests = [request(n) for n in range(12)]
    results = backend(peer).generate(requests)
    assert [r.text for r in results] == [expected_text(body_of(r)) for r in requests]
    assert all(r.ok and r.finish_reason == "stop" and r.completion_tokens > 0 for r in results)
    assert results[0].engine_version == "vllm peer-1.0"


def test_it_sends_seed_sampling_settings_and_logprobs(peer):
    result, = backend(peer).generate([request(1, logprobs=3, top_k=40, presence_penalty=0.5)])
    sent = peer.requests[0]
    assert sent["seed"] == 1 and sent["max_tokens"] == 20 and sent["temperature"] == 0.7
    assert sent["logprobs"] is True and sent["top_logprobs"] == 3
    assert sent["top_k"] == 40 and sent["presence_penalty"] == 0.5 and "min_p" not in sent
    assert len(result.logprobs) == result.completion_tokens
    second = result.logprobs[1]
    assert second.logprob == -0.5
    assert second.top == ((f"{second.token}#0", -0.5), (f"{second.token}#1", -1.5), (f"{second.token}#2", -2.5))


def test_it_asks_for_no_logprobs_unless_requested(peer):
    result, = backend(peer).generate([request(1)])
    assert "logprobs" not in peer.requests[0] and result.logprobs == []


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_it_retries_rate_limits_and_server_errors(peer, status):
    peer.script = [{"status": status}, {"status": status}]
    result, = backend(peer).generate([request(1)])
    assert result.ok and result.text == expected_text(body_of(request(1)))
    assert len(peer.requests) == 3


def test_it_honours_retry_after(peer):
    peer.script = [{"status": 429, "headers": {"Retry-After": "0.3"}}]
    result, = backend(peer).generate([request(1)])
    assert result.ok
    assert result.latency_ms >= 300


def test_it_gives_up_after_its_retries_and_records_the_error(peer):
    peer.then = {"status": 500, "body": {"error": "engine exploded"}}
    results = backend(peer, retries=2).generate([request(1), request(2)])
    assert all(not r.ok for r in results)
    assert "gave up after 3 tries" in results[0].error and "HTTP 500" in results[0].error
    assert "engine exploded" in results[0].error
    assert len(peer.requests) == 6


def test_one_failing_request_does_not_sink_the_others(peer):
    peer.script = [None, {"status": 400, "body": {"error": "prompt too long"}}, None]
    peer.delay = 0
    results = backend(peer, concurrency=1).generate([request(1), request(2), request(3)])
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error.startswith("HTTP 400") and "prompt too long" in results[1].error
    assert len(peer.requests) == 3  # a 400 is not retried


def test_a_timeout_is_retried_then_reported(peer):
    peer.then = {"delay": 0.5}
    result, = backend(peer, timeout=0.1, retries=1).generate([request(1)])
    assert not result.ok and "timed out" in result.error and len(peer.requests) == 2


def test_a_dropped_connection_is_retried(peer):
    peer.script = [{"drop": True}]
    result, = backend(peer).generate([request(1)])
    assert result.ok and len(peer.requests) == 2


def test_a_server_that_is_down_gives_an_error_per_request():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = OpenAIBackend(f"http://127.0.0.1:{port}/v1", retries=1, backoff=0.01, timeout=2.0)
    results = down.generate([request(1), request(2)])
    assert all("could not reach" in r.error for r in results)


@pytest.mark.parametrize("body, problem", [
    (b"<html>oops</html>", "not JSON"),
    ({"choices": []}, "no choices[0]"),
    ({"choices": [{"message": "hi"}]}, "message is not an object"),
    ({"choices": [{"message": {"content": 42}}]}, "content is not a string"),
    ({"choices": [{"message": {"content": "hi"}}], "usage": {"completion_tokens": "many"}}, "usage.completion_tokens"),
    ({"choices": [{"message": {"content": "hi"}, "logprobs": {"content": [{"token": "hi"}]}}]}, "logprobs.content"),
])
def test_a_malformed_reply_is_an_error_naming_what_is_wrong(peer, body, problem):
    peer.script = [{"status": 200, "body": body}]
    result, = backend(peer).generate([request(1)])
    assert not result.ok and "malformed reply" in result.error and problem in result.error
    assert len(peer.requests) == 1
