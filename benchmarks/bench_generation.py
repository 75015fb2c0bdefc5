"""Generation throughput through the production path: `manage.py generate --wait` with a real
`manage.py worker` and Redis, against a direct `LLM.chat` on the same requests.

    .venv-vllm/bin/python benchmarks/bench_generation.py [--queries 64] [--max-tokens 64] [--repeat 3] [--chunk-sizes 512]
        [--database-url postgres://...] [--baseline CHECKOUT [--baseline-worker]] [--prefix-cache]

It builds the tiny random Llama (evalplat.generation.tinymodel), starts a redis-server of its
own on a free loopback port (so no other worker can take its chunks, and the system Redis is
never touched) and a `manage.py worker` on it, and uses a throwaway SQLite database unless
--database-url names a PostgreSQL one (which it migrates and fills; use a database of your own).
A first `generate` loads the worker's engine and is not timed. Then, repeat times, interleaved
(A B A B ...) so that drift in the machine's speed hits both alike:

  A  direct: one LLM.chat over every request, in this process, on an engine of its own;
  B  worker: `manage.py generate EXPERIMENT --wait` in a fresh process, timed from its launch to
     its exit (the command's start-up, planning, Redis, the worker's chunks, writing answers,
     the wait for the end), with the answers of the previous run deleted first.

The project's bytecode is compiled first, as an installed deployment has it: Python caches it
on a module's first import unless PYTHONDONTWRITEBYTECODE is set (as on the machine these figures
come from), and without the cache every `generate` recompiles the project's modules it imports,
0.1-0.3 s of a 2-second job on a 2-core machine.

Each repeat prints both, the ratio direct / worker, the ratio without the command's start-up
(from the job's creation to the command's exit), and where the worker path's time went (start-up,
planning and queueing until the first claim, the chunks, the recount, the end seen and the exit:
from the job's timestamps); then the median ratio over repeats and its
spread (min-max). Goal: median ratio >= 0.9. --chunk-sizes 256,512 runs B once per size.
--baseline CHECKOUT times another checkout's `generate` beside B in every repeat (against this
checkout's worker), for a before/after comparison that noise hits alike; it prints the
per-repeat ratio of their times. With --baseline-worker the baseline's `generate` is served by a
`manage.py worker` of the baseline checkout (on a redis-server of its own, sharing the database),
so that a change to the worker is compared too: an engine more in the machine, loaded alike. --prefix-cache adds the effect of vLLM's prefix
cache when variants share a system prompt.
"""
import argparse
import compileall
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
GOAL = 0.9
START_SECONDS = 300  # the worker's first chunk loads the engine (a minute on a loaded 2-core machine)

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


def compile_bytecode(root=ROOT):
    """Write the bytecode cache (__pycache__, ignored by git) of the checkout at `root`, which a run
    with PYTHONDONTWRITEBYTECODE set would otherwise leave unwritten; returns the packages compiled."""
    packages = [path for path in sorted(root.iterdir()) if (path / "__init__.py").is_file()]
    for package in packages:
        if not compileall.compile_dir(package, quiet=1):
            raise SystemExit(f"could not compile {package}")
    return [package.name for package in packages]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_redis(workdir):
    """A redis-server of this run's own on a free loopback port; returns (process, broker URL)."""
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(workdir)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("redis-server did not start")


def setup_django(env):
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def worker_path_run(env, experiment, log, timeout=None, root=ROOT):
    """Seconds for `manage.py generate --wait` of the checkout at `root` (from launch, and from the
    job's creation), and the job.

    The tiny random model now and then writes a NUL, which the platform stores as a failed answer
    (PostgreSQL cannot hold it), so `generate` may exit 1: what counts is that the job finished.
    """
    from django.db import connection

    from evalplat.generation.models import Answer, GenerationJob

    Answer.objects.filter(experiment=experiment).delete()
    GenerationJob.objects.filter(experiment=experiment).delete()
    connection.close()  # SQLite: no lock of this process's in the command's way
    started = time.perf_counter()
    launched = time.time()
    subprocess.run([PYTHON, "manage.py", "generate", experiment.slug, "--backend", "vllm", "--wait"],
                   cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=log, timeout=timeout)
    seconds = time.perf_counter() - started
    job = GenerationJob.objects.get(experiment=experiment)
    if job.is_active or job.done + job.failed != job.total:
        raise SystemExit(f"job #{job.pk} ended {job.state} with {job.done} done, {job.failed} failed of {job.total}")
    other = job.answers.filter(status="failed").exclude(error__startswith="the model's output cannot be stored")
    if other.exists():
        raise SystemExit(f"job #{job.pk}: {other.count()} answers failed: {other.first().error}")
    return seconds, seconds - (job.created_at.timestamp() - launched), job


def phases(job, seconds, after_start_up_s):
    """Where a worker-path run's time went, from the job's timestamps (the command's and the
    worker's clocks are this machine's): launch -> job created -> first claim -> last answer
    written (the chunks: claims, engine, writes) -> job finished -> the command's exit."""
    from django.db.models import Max

    launched = job.created_at.timestamp() - (seconds - after_start_up_s)
    written = job.answers.aggregate(last=Max("generated_at"))["last"].timestamp()
    created, claimed, finished = (t.timestamp() for t in (job.created_at, job.started_at, job.finished_at))
    return (f"start-up {created - launched:.2f}, planning and queueing {claimed - created:.2f}, "
            f"chunks {written - claimed:.2f}, recount {finished - written:.2f}, "
            f"end to exit {launched + seconds - finished:.2f} s")


def direct_run(llm, requests):
    """The same requests straight into LLM.chat, one call, as a script without the platform would."""
    from evalplat.generation.backends.vllm import sampling_params

    started = time.perf_counter()
    outputs = llm.chat([list(r.messages) for r in requests], sampling_params=[sampling_params(r) for r in requests],
                       use_tqdm=False)
    seconds = time.perf_counter() - started
    return seconds, len(outputs), sum(len(o.outputs[0].token_ids) for o in outputs)


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
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return (f"{platform.node()}: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} at the start")


def start_worker(env, root, log_path, name):
    """`manage.py worker` of the checkout at `root`, in a process group of its own."""
    with log_path.open("w") as log:
        return subprocess.Popen(
            [PYTHON, "manage.py", "worker", "--without-heartbeat", "--without-mingle", "--without-gossip",
             "--loglevel=WARNING", "-n", f"{name}@%h"],
            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop(worker, redis):
    if worker.poll() is None:
        os.killpg(worker.pid, 15)  # warm shutdown: the worker is idle by now
        worker.wait(timeout=60)
    redis.terminate()
    redis.wait(timeout=10)


def wait_for_worker(env, experiment, log_path, root=ROOT):
    """The untimed first run, which loads the worker's engine."""
    try:
        with log_path.open("a") as log:
            worker_path_run(env, experiment, log, timeout=START_SECONDS, root=root)
    except subprocess.TimeoutExpired as exc:
        raise SystemExit(f"the worker did not serve the first job ({exc}):\n{log_path.read_text()[-3000:]}") from None


def spread(values):
    return f"median {statistics.median(values):.3f}, min {min(values):.3f}, max {max(values):.3f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=64, help="queries (x 8 variants = answers)")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved pairs of timed runs (at least 3)")
    parser.add_argument("--chunk-sizes", default="512",
                        help="GENERATION_CHUNK_SIZE values to run the worker path with, each every repeat (512: the default)")
    parser.add_argument("--database-url", help="a PostgreSQL database of your own (default: a throwaway SQLite file)")
    parser.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                        help="another checkout (e.g. `git worktree add /tmp/main main`) whose `generate` is timed "
                             "in every repeat too, against the same worker, in alternating order")
    parser.add_argument("--baseline-worker", action="store_true",
                        help="serve the baseline's `generate` with a worker of the baseline checkout (and a Redis "
                             "of its own), to compare a change to the worker too")
    parser.add_argument("--prefix-cache", action="store_true", help="also measure vLLM's prefix cache")
    parser.add_argument("--prefix-requests", type=int, default=64)
    args = parser.parse_args()
    if args.repeat < 3:
        parser.error("--repeat: at least 3, so that the spread means something")
    if args.baseline_worker and not args.baseline:
        parser.error("--baseline-worker: only with --baseline")

    compiled = compile_bytecode()
    trees = {"this": ROOT}
    if args.baseline:
        trees["baseline"] = args.baseline.resolve()
        if not (trees["baseline"] / "manage.py").is_file():
            parser.error(f"--baseline: no manage.py in {trees['baseline']}")
        compile_bytecode(trees["baseline"])
    workdir = Path(tempfile.mkdtemp(prefix="bench-generation-"))
    redis, broker = start_redis(workdir)
    env = {**os.environ,
           "DJANGO_SETTINGS_MODULE": "evalplat.settings",
           "DATABASE_URL": args.database_url or f"sqlite:///{workdir}/bench.sqlite3",
           "CELERY_BROKER_URL": broker,
           "CELERY_TASK_ALWAYS_EAGER": "0",
           "SECRET_KEY": os.environ.get("SECRET_KEY", "benchmark-only-key-0123456789abcdefghijklmnopqrstuvwxyz"),
           "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1")}
    setup_django(env)
    import vllm

    from evalplat.experiments.importing import import_design_text
    from evalplat.experiments.models import Experiment
    from evalplat.generation.backends.vllm import VllmBackend
    from evalplat.generation.models import Answer
    from evalplat.generation.tinymodel import build_tiny_model

    model = str(build_tiny_model(workdir / "tiny-llama"))
    Experiment.objects.filter(slug="bench").delete()
    experiment = import_design_text(design_text(model, args.queries, args.max_tokens), "bench.toml")
    log_path = workdir / "worker.log"
    worker = start_worker(env, ROOT, log_path, "bench")
    envs = {tree: env for tree in trees}  # the broker, and so the worker, each checkout's `generate` uses
    if args.baseline_worker:
        (workdir / "baseline-redis").mkdir()
        baseline_redis, baseline_broker = start_redis(workdir / "baseline-redis")
        envs["baseline"] = env | {"CELERY_BROKER_URL": baseline_broker}
        baseline_log_path = workdir / "baseline-worker.log"
        baseline_worker = start_worker(envs["baseline"], trees["baseline"], baseline_log_path, "bench-baseline")
    direct = VllmBackend()
    try:
        wait_for_worker(env, experiment, log_path)
        if args.baseline_worker:
            wait_for_worker(envs["baseline"], experiment, baseline_log_path, root=trees["baseline"])
        requests = [a.request() for a in Answer.objects.filter(experiment=experiment)
                    .select_related("variant", "query").in_run_order()]
        direct.generate(requests[:64])  # loads and warms up the direct engine; not timed
        print(f"machine: {machine()}; vllm {vllm.__version__}, tiny random Llama")
        print(f"workload: {len(requests)} answers (8 variants x {args.queries} queries), max_tokens {args.max_tokens}; "
              f"database {env['DATABASE_URL'].split(':')[0]}, Redis and `manage.py worker` of this run's own; "
              f"bytecode compiled ahead for {', '.join(compiled)}")
        sizes = [int(size) for size in args.chunk_sizes.split(",")]
        arms = [(tree, size) for size in sizes for tree in trees]
        ratios = {arm: ([], []) for arm in arms}  # with and without the command's start-up
        seconds = {arm: [] for arm in arms}
        if args.baseline:
            served = "a worker of its own checkout" if args.baseline_worker else "this checkout's worker"
            print(f"baseline: `generate` of {trees['baseline']} (its bytecode compiled too), against {served}; "
                  "the two commands alternate which goes first")
        with log_path.open("a") as log:
            for repeat in range(1, args.repeat + 1):
                direct_s, answers, tokens = direct_run(direct.llm, requests)
                print(f"repeat {repeat}: direct {direct_s:6.2f} s ({answers / direct_s:6.1f} answers/s, "
                      f"{tokens / direct_s:7.0f} tokens/s); load average {os.getloadavg()[0]:.1f}", flush=True)
                for tree, size in arms if repeat % 2 else arms[::-1]:
                    # The planner reads the chunk size from the command's environment.
                    worker_s, after_start_up_s, job = worker_path_run(
                        envs[tree] | {"GENERATION_CHUNK_SIZE": str(size)}, experiment, log, root=trees[tree])
                    seconds[tree, size].append(worker_s)
                    ratios[tree, size][0].append(direct_s / worker_s)
                    ratios[tree, size][1].append(direct_s / after_start_up_s)
                    print(f"  worker path{'' if tree == 'this' else ' (baseline)'}, chunks of {size:4d}: {worker_s:6.2f} s "
                          f"({job.total / worker_s:6.1f} answers/s; {job.failed} failed: output not storable)  "
                          f"ratio {ratios[tree, size][0][-1]:.3f} "
                          f"(without the command's start-up {ratios[tree, size][1][-1]:.3f})\n"
                          f"    {phases(job, worker_s, after_start_up_s)}", flush=True)
        for (tree, size), (with_start_up, without) in ratios.items():
            median = statistics.median(with_start_up)
            print(f"{'' if tree == 'this' else 'baseline, '}chunks of {size}: direct / worker path over {args.repeat} "
                  f"repeats: {spread(with_start_up)} (goal >= {GOAL}: {'met' if median >= GOAL else 'NOT met'}); "
                  f"without the command's start-up: {spread(without)}")
            if tree != "this":
                print(f"  baseline's time / this checkout's, per repeat: "
                      f"{spread([b / a for b, a in zip(seconds[tree, size], seconds['this', size])])}")
    finally:
        direct.close()
        stop(worker, redis)
        if args.baseline_worker:
            stop(baseline_worker, baseline_redis)
    if args.prefix_cache:
        timings, prompt_tokens = prefix_cache_effect(model, args.prefix_requests, 3)
        print(f"prefix cache: {args.prefix_requests} requests sharing a {prompt_tokens}-token prompt, max_tokens 8: "
              f"on {timings[True]:.2f} s, off {timings[False]:.2f} s, speed-up x{timings[False] / timings[True]:.2f}")


if __name__ == "__main__":
    main()
