import json
from unittest import mock

import pytest
from django.conf import settings

from evalplat.generation import planning
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


def plan_here(experiment, backend="replay", options=None, **kwargs):
    """A job started and planned in this process with nothing sent to a broker: what a worker's
    planning task leaves before it hands out the chunks (rows attached, job queued). The caller
    runs or queues the chunks."""
    with mock.patch.object(planning, "queue_planning", lambda job: None):
        job = planning.start_job(experiment, backend, options or {}, **kwargs)
    planning.plan_job(job.pk, settings.GENERATION_CHUNK_SIZE)
    job.refresh_from_db()
    return job
