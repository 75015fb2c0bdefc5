import json

import pytest

from tests.generation.openai_peer import Peer


@pytest.fixture
def peer():
    server = Peer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A random Llama of a few MB with its tokenizer and chat template, built once per session."""
    from evalplat.generation.tinymodel import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"), seed=0)


def write_replay(path, experiment, *, skip=(), extra_lines=()):
    """A replay file with one answer per (variant, query, sample) of `experiment`, except `skip`."""
    samples = experiment.generation_settings.samples
    lines = [
        json.dumps({"variant": v.code, "query": q.key, "sample": s, "text": f"replayed {v.code}/{q.key}/{s}",
                    "completion_tokens": 3, "prompt_tokens": 7})
        for v in experiment.variants.all() for q in experiment.queries.all() for s in range(samples)
        if (v.code, q.key, s) not in skip
    ]
    path.write_text("\n".join([*lines, *extra_lines]) + "\n")
    return path
