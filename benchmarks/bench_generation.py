"""Generation throughput: the platform (`manage.py generate`) against a direct `LLM.chat`, and the
effect of vLLM's prefix cache when variants share a system prompt.

    .venv-vllm/bin/python benchmarks/bench_generation.py [--queries 64] [--max-tokens 64] [--repeat 3] [--chunk-sizes 256,64]

It builds the tiny random Llama (evalplat.generation.tinymodel) and a throwaway SQLite database,
so it needs nothing but the vLLM venv (scripts/vllm-venv). `generate` runs with
CELERY_TASK_ALWAYS_EAGER, so its chunks run in this process on the same engine as the direct
calls: the ratio is the cost of everything the platform adds around the engine (planning, prompt
composition, claims, leases, writing answers, counting), not of the Redis hop (milliseconds per
chunk). Goal: platform / raw >= 0.95. The raw baseline is one LLM.chat over every request; the
platform makes one call per chunk, and each chunk boundary costs a batch tail (the engine running
below capacity while a chunk's last answers finish): hence one run per chunk size.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL = 0.95

DESIGN = """
name = "bench"
title = "Throughput benchmark"
question = "Which is better?"
array = "auto"
foldover = true
[prompt]
system = "You are a helpful assistant. {hedge} {voice}"
user = "{{query}}"
[generation]
model = "{model}"
max_tokens = {max_tokens}
temperature = {temperature}
seed = 1
[[factors]]
name = "hedge"
[factors.levels]
plain = ""
hedged = "If you are not confident, say so plainly."
[[factors]]
name = "voice"
[factors.levels]
flat = "Use a neutral voice."
lively = "Use a lively voice."
[[factors]]
name = "temperature"
target = "generation.temperature"
[factors.levels]
cold = 0.2
hot = 0.9
"""


def design_text(model, queries, max_tokens):
    text = DESIGN.format(model=model, max_tokens=max_tokens, temperature=0.7,
                         hedge="{hedge}", voice="{voice}")
    for i in range(queries):
        text += f'[[queries]]\nid = "q{i}"\ntext = "Question number {i}: why does the sky look blue at noon?"\n'
    return text


def setup_django(workdir):
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "evalplat.settings",
        "DATABASE_URL": f"sqlite:///{workdir}/bench.sqlite3",
        "CELERY_TASK_ALWAYS_EAGER": "1",
    })
    os.environ.setdefault("SECRET_KEY", "benchmark-only-key")  # DEBUG is off: the public key is refused
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def platform_run(experiment, chunk_size):
    """answers, completion tokens and seconds for `manage.py generate` over every answer."""
    from django.core.management import call_command

    from evalplat.generation.models import Answer, GenerationJob

    os.environ["GENERATION_CHUNK_SIZE"] = str(chunk_size)
    Answer.objects.all().delete()
    GenerationJob.objects.all().delete()
    started = time.perf_counter()
    call_command("generate", experiment.slug, "--backend", "vllm", stdout=open(os.devnull, "w"))
    seconds = time.perf_counter() - started
    done = Answer.objects.filter(status="done")
    return done.count(), sum(done.values_list("completion_tokens", flat=True)), seconds


def raw_run(llm, requests):
    """The same requests straight into LLM.chat, one call, as a script without the platform would."""
    from evalplat.generation.backends.vllm import sampling_params

    started = time.perf_counter()
    outputs = llm.chat([list(r.messages) for r in requests], sampling_params=[sampling_params(r) for r in requests],
                       use_tqdm=False)
    seconds = time.perf_counter() - started
    return len(outputs), sum(len(o.outputs[0].token_ids) for o in outputs), seconds


def prefix_cache_effect(model, n_requests, repeat):
    """Seconds for requests sharing a long system prompt, with vLLM's prefix cache on and off."""
    from vllm import LLM, SamplingParams

    from evalplat.generation.backends.vllm import platform_options

    # About 1,000 tokens of shared system prompt (the tiny model's context is 2,048).
    system = " ".join(f"Rule {i}: answer carefully, admit uncertainty, and be brief." for i in range(50))
    conversations = [[{"role": "system", "content": system}, {"role": "user", "content": f"Question {i}?"}]
                     for i in range(n_requests)]
    params = SamplingParams(max_tokens=8, temperature=0.0)
    timings = {}
    for caching in (True, False):
        llm = LLM(model=model, enable_prefix_caching=caching, **platform_options())
        try:
            warm = llm.chat(conversations[:2], sampling_params=params, use_tqdm=False)  # and caches the prefix
            runs = []
            for _ in range(repeat):
                started = time.perf_counter()
                llm.chat(conversations, sampling_params=params, use_tqdm=False)
                runs.append(time.perf_counter() - started)
            timings[caching] = statistics.median(runs)
            prompt_tokens = len(warm[0].prompt_token_ids)
        finally:
            llm.llm_engine.engine_core.shutdown()
    return timings, prompt_tokens


def machine():
    import platform

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=64, help="queries (x 8 variants = answers)")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each; the median is reported")
    parser.add_argument("--chunk-sizes", default="256,64",
                        help="GENERATION_CHUNK_SIZE values to run the platform with (256 is the default)")
    parser.add_argument("--prefix-requests", type=int, default=64)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-generation-"))
    setup_django(workdir)
    import vllm

    from evalplat.experiments.importing import import_design_text
    from evalplat.generation.backends import backend_for
    from evalplat.generation.models import Answer
    from evalplat.generation.tinymodel import build_tiny_model

    model = str(build_tiny_model(workdir / "tiny-llama"))
    experiment = import_design_text(design_text(model, args.queries, args.max_tokens), "bench.toml")
    backend = backend_for("vllm", {})
    chunk_sizes = [int(size) for size in args.chunk_sizes.split(",")]
    platform_run(experiment, chunk_sizes[0])  # loads the engine and warms it up; not timed
    requests = [a.request() for a in Answer.objects.select_related("variant", "query").in_run_order()]

    platform = {size: [] for size in chunk_sizes}
    raw = []
    for _ in range(args.repeat):  # interleaved, so drift in the machine's speed hits both alike
        raw.append(raw_run(backend.llm, requests))
        for size in chunk_sizes:
            platform[size].append(platform_run(experiment, size))
    raw_s = statistics.median(s for _, _, s in raw)
    raw_tokens = raw[0][1]

    print(f"machine: {machine()}; vllm {vllm.__version__} (CPU), tiny random Llama")
    print(f"workload: {len(requests)} answers (8 variants x {args.queries} queries), max_tokens {args.max_tokens}, "
          f"median of {args.repeat} runs")
    print(f"raw (one LLM.chat):          {len(requests) / raw_s:7.1f} answers/s {raw_tokens / raw_s:8.0f} tokens/s "
          f"({raw_s:.2f} s)")
    for size, runs in platform.items():
        answers, tokens, _ = runs[0]
        seconds = statistics.median(s for _, _, s in runs)
        ratio = raw_s / seconds
        print(f"platform, chunks of {size:4d}:  {answers / seconds:7.1f} answers/s {tokens / seconds:8.0f} tokens/s "
              f"({seconds:.2f} s)  platform/raw {ratio:.3f} (goal >= {GOAL}: {'met' if ratio >= GOAL else 'NOT met'})")

    backend.close()
    timings, prompt_tokens = prefix_cache_effect(model, args.prefix_requests, args.repeat)
    print(f"prefix cache: {args.prefix_requests} requests sharing a {prompt_tokens}-token prompt, max_tokens 8: "
          f"on {timings[True]:.2f} s, off {timings[False]:.2f} s, speed-up x{timings[False] / timings[True]:.2f}")


if __name__ == "__main__":
    main()
