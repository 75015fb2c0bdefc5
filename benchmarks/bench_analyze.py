"""`manage.py analyze` end to end against one statsmodels Logit fit of the same data.

Goal (issue 12): at 1,000,000 judgments x 20 factors, analyze (CSV in -> effects.json,
effects.csv, variants.csv, judgments.csv, report.html out) within 5x one statsmodels Logit fit,
peak memory <= 2.5 GB, and 1M -> 3M judgments at most 3.5x the time.

    .venv/bin/python benchmarks/bench_analyze.py [--sizes 10000,100000,1000000,3000000] [--factors 20]

For each size it writes variants.csv and judgments.csv (an L24 design, random pairs of its runs,
200 queries in 5 categories, 40 judgments per rater, 5-point outcomes from the simulated raters
of evalplat.analysis.simulate with 10% random clickers, answer lengths), then runs, each in its
own process so that each one's CPU time and peak memory (the RSS high-water mark of that process,
from wait4) are its own:

1. `python manage.py analyze --variants ... --judgments ... --out ...`, exactly as a user types it;
2. statsmodels' Logit on the decided judgments (ties dropped, left won = 1) of the same data, with
   the same difference rows and an intercept for position; only the fit is timed (its wall and
   CPU), after the arrays are built, and it runs with one BLAS thread.

The ratio is analyze's wall time over the Logit fit's (and the same for CPU time, which a busy
machine distorts less: analyze is single-threaded by default).  The machine and its load are
printed with the figures; on a shared machine the ratios (both measured in the same run, A B A B
with --repeat) are the figures to read, not the seconds.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N_QUERIES = 200
N_CATEGORIES = 5
PER_RATER = 40


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, load average {load}"


def build(folder, n, n_factors, seed=0):
    """Write variants.csv and judgments.csv for n judgments into folder; returns nothing."""
    import numpy as np
    import pandas as pd

    from designs.matrix import design_matrix
    from evalplat.analysis.simulate import SimulatedRaters, simulate_judgments
    from evalplat.analysis.tables import VariantTable, write_variants

    matrix = design_matrix([2] * n_factors)
    table = VariantTable(ids=tuple(f"v{i + 1}" for i in range(matrix.n_runs)),
                         factors=tuple(f"f{i + 1}" for i in range(n_factors)),
                         levels=tuple(("base", "alt") for _ in range(n_factors)), runs=matrix.runs)
    dummies = table.dummies()
    rng = np.random.default_rng(seed)
    left = rng.integers(0, matrix.n_runs, n)
    right = (left + rng.integers(1, matrix.n_runs, n)) % matrix.n_runs
    query = rng.integers(0, N_QUERIES, n)
    rater = np.arange(n) // PER_RATER
    truth = rng.normal(0, 0.3, dummies.shape[1])
    judgments, _ = simulate_judgments(dummies, truth, rater, query, left, right,
                                      SimulatedRaters(answer_sd=0.0), rng, n_queries=N_QUERIES)
    write_variants(folder / "variants.csv", table)
    ids = np.array(table.ids, dtype=object)
    lengths = rng.integers(200, 2000, size=(matrix.n_runs, N_QUERIES))
    frame = pd.DataFrame({
        "query": np.char.add("q", (query + 1).astype(str)),
        "left": ids[left], "right": ids[right],
        "winner": np.array(["right", "tie", "left"], dtype=object)[judgments.winner + 1],
        "strength": np.where(judgments.strength > 0, judgments.strength.astype(str), ""),
        "rater": np.char.add("r", (rater + 1).astype(str)),
        "category": np.char.add("c", (query % N_CATEGORIES + 1).astype(str)),
        "left_chars": lengths[left, query], "right_chars": lengths[right, query],
    })
    frame.to_csv(folder / "judgments.csv", index=False)


def logit_child(folder):
    """Runs in its own process: statsmodels' Logit on the decided judgments; prints the fit's times."""
    import numpy as np
    import statsmodels.api as sm
    from threadpoolctl import threadpool_limits

    from evalplat.analysis.tables import read_judgments, read_variants

    variants = read_variants(folder / "variants.csv")
    judgments = read_judgments(folder / "judgments.csv", variants)
    dummies = variants.dummies()
    decided = judgments.winner != 0
    x = np.column_stack([dummies[judgments.left] - dummies[judgments.right], np.ones(len(judgments))])[decided]
    y = (judgments.winner[decided] > 0).astype(float)
    with threadpool_limits(1):
        wall, cpu = time.perf_counter(), time.process_time()
        sm.Logit(y, x).fit(disp=0)
        print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                          "rows": int(decided.sum())}))


def run_with_rusage(command):
    """Fork and exec `command`, wait4 for it: wall, CPU (user + system) and peak RSS of that process."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        # DEBUG=1: a command-line analysis in a development checkout, as `scripts/manage analyze` runs it.
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=err, text=True,
                                   env={**os.environ, "DEBUG": os.environ.get("DEBUG", "1")})
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        if process.returncode:
            raise SystemExit(f"{' '.join(map(str, command))} failed:\n{err.read()}")
        return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_gb": usage.ru_maxrss / 1024 ** 2,
                "stdout": out.read()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000,3000000")
    parser.add_argument("--factors", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=1, help="A B pairs per size (default 1)")
    parser.add_argument("--logit-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.logit_child:
        logit_child(Path(args.logit_child))
        return

    python = sys.executable
    print(f"machine: {machine()}")
    print(f"{args.factors} two-level factors; analyze chooses its own BLAS threads; statsmodels with one\n")
    print("| judgments | analyze wall | analyze CPU | analyze peak RSS | Logit fit wall | Logit fit CPU "
          "| Logit peak RSS | ratio, wall | ratio, CPU |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    walls = {}
    for n in [int(size) for size in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            build(folder, n, args.factors)
            for _ in range(args.repeat):
                analyze = run_with_rusage([python, "manage.py", "analyze", "--variants", folder / "variants.csv",
                                           "--judgments", folder / "judgments.csv", "--out", folder / "out"])
                logit = run_with_rusage([python, __file__, "--logit-child", folder])
                fit = json.loads(logit["stdout"].strip().splitlines()[-1])
                walls.setdefault(n, []).append(analyze["wall"])
                print(f"| {n:,} | {analyze['wall']:.1f} s | {analyze['cpu']:.1f} s | {analyze['rss_gb']:.2f} GB "
                      f"| {fit['wall']:.2f} s | {fit['cpu']:.2f} s | {logit['rss_gb']:.2f} GB "
                      f"| {analyze['wall'] / fit['wall']:.1f}x | {analyze['cpu'] / fit['cpu']:.1f}x |", flush=True)
    if 1_000_000 in walls and 3_000_000 in walls:
        print(f"\n1M -> 3M judgments: {min(walls[3_000_000]) / min(walls[1_000_000]):.2f}x the time (goal <= 3.5x)")
    print(f"machine at the end: {machine()}")


if __name__ == "__main__":
    main()
