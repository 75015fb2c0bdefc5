"""CPU per judgment of the rater pages, in-process: what a judgment costs Django and PostgreSQL.

    .venv/bin/python benchmarks/cpu_per_judgment.py [--judgments 400] [--repeat 3] [--baseline CHECKOUT]
        [--instructions]

Throughput under load (benchmarks/load_raters.py) is what a study meets, but on a small shared
machine it moves with whatever else runs. The CPU seconds a judgment costs move far less: this
counts them. Each repeat, in a fresh process, makes a fresh database as load_raters.py does (the
demo's honesty-tone experiment, its first batch planned), then one rater after another opens the
study link, consents and judges items until their session ends (the next participant starts
over), through Django's own WSGI handler with production settings (DEBUG off, CSRF checked) and no
HTTP server. It prints the process's CPU per judgment (the views, templates, ORM and psycopg),
PostgreSQL's (its backend process's CPU, read from /proc: the database must be on this machine)
and the SQL statements per judgment (BEGIN and COMMIT not counted), each counting everything a
judgment makes happen: the submit (answered with the next item's page; a redirect to the end of
a session is followed), the study link and consent of each new participant, the queue's refills.

--baseline CHECKOUT measures another checkout of the project (e.g. `git worktree add /tmp/base
main`) in every repeat too, alternating which goes first, and prints the per-repeat ratio.

On a VM whose speed moves between runs even the CPU seconds do (by up to 40% between consecutive
10-second runs, seen on 2026-12-02, PostgreSQL's CPU for the same statements moving alike), so
--instructions counts instead: each checkout's Django process runs under valgrind's callgrind
(about 50 times slower: 2-3 minutes a checkout at the default 400 judgments), and the instructions
per judgment (the difference between a short and a long run, so that start-up cancels out) are
printed with their ratio. PostgreSQL is not in that count; the timed mode reports its CPU.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
WARM_UP = 50  # judgments whose instructions --instructions subtracts (start-up, set-up, first sessions)


def measure(url, judgments, seed):
    """In this process (the checkout to measure first on sys.path): a fresh database, then `judgments`
    judgments; prints "django_ms postgres_ms statements" per judgment."""
    import random
    from benchmarks.load_raters import CHOICES, CSRF, cpu_seconds, moved_on_to, prepare_database

    token = prepare_database(url, 0)
    os.environ.update({"DATABASE_URL": url, "DEBUG": "false", "SECRET_KEY": "cpu-per-judgment-" + "x" * 40,
                       "ALLOWED_HOSTS": "testserver", "DJANGO_SETTINGS_MODULE": "evalplat.settings",
                       "DB_CONN_MAX_AGE": "60",
                       # As load_raters.py's: a machine-fast rater is not throttled (the limits are tested elsewhere).
                       "RATING_NEW_RATERS_PER_ADDRESS": "1000000/m", "RATING_NEW_RATERS_PER_LINK": "1000000/m",
                       "RATING_SUBMITS_PER_RATER": "1000000/m"})
    import warnings
    warnings.filterwarnings("ignore", "No directory at")  # whitenoise without collectstatic's output
    import django
    django.setup()
    from django.db import connection
    from django.test import Client

    rng = random.Random(seed)
    client, done, participant = None, 0, 0

    def start():
        """A new participant: study link and consent; (where it led, the page)."""
        nonlocal client, participant
        participant += 1
        client = Client(enforce_csrf_checks=True)
        query = urlencode({"PROLIFIC_PID": f"cpu-{seed}-{participant}", "STUDY_ID": "cpu", "SESSION_ID": "s"})
        welcome = client.get(f"/r/{token}/?{query}", follow=True)
        return moved_on(client.post("/r/welcome/", {
            "consent": "yes", "csrfmiddlewaretoken": CSRF.search(welcome.content.decode()).group(1)}))

    def moved_on(answer):
        """(where a POST that moves the rater on led, the page there): the item page it answered with, or
        the end of the session, followed."""
        where = moved_on_to(answer.status_code, answer.get("Location"), answer.content.decode())
        if where is None:
            raise SystemExit(f"POST {answer.request['PATH_INFO']}: {answer.status_code}")
        return (where, answer) if answer.status_code == 200 else (where, client.get(where, follow=True))

    path, page = start()  # the connection is opened outside the counted part
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    statements = 0

    def count(execute, sql, params, many, context):
        # Counted, not logged: Django's query log (CaptureQueriesContext) formats every statement's
        # SQL with its parameters, which cost a tenth of the CPU being measured.
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        cpu0, backend0 = time.process_time(), cpu_seconds(backend)
        while done < judgments:
            if "/r/a/" not in path:  # the session ended: the next participant
                path, page = start()
                continue
            form = {"choice": rng.choice(CHOICES), "rationale": "",
                    "csrfmiddlewaretoken": CSRF.search(page.content.decode()).group(1)}
            path, page = moved_on(client.post(path, form))
            done += 1
        cpu, backend_cpu = time.process_time() - cpu0, cpu_seconds(backend) - backend0
    print(f"{cpu / done * 1000:.3f} {backend_cpu / done * 1000:.3f} {statements / done:.2f}")


def child(checkout, url, judgments, seed, wrapper=()):
    """One measurement in a fresh process, with `checkout`'s code (under `wrapper`, a command such as
    valgrind's); (django ms, postgres ms, statements) and the process's stderr."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out = subprocess.run([*wrapper, sys.executable, __file__, "--measure", str(checkout), "--database-url", url,
                          "--judgments", str(judgments), "--seed", str(seed)],
                         cwd=checkout, env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{checkout}: {out.stderr[-2000:]}")
    return tuple(float(v) for v in out.stdout.split()[-3:]), out.stderr


def instructions_per_judgment(checkout, url, judgments, seed):
    """Instructions the Django process executes per judgment, counted by valgrind's callgrind: the
    difference between a run of WARM_UP judgments and one of WARM_UP + `judgments`, so that start-up,
    the database's set-up and the first participants cancel out. Unlike CPU seconds, the count is
    the same whatever else the machine does (and with PYTHONHASHSEED fixed, run after run)."""
    counts = []
    with tempfile.TemporaryDirectory() as scratch:
        for n in (WARM_UP, WARM_UP + judgments):
            wrapper = ("env", "PYTHONHASHSEED=0", "valgrind", "--tool=callgrind",
                       f"--callgrind-out-file={scratch}/callgrind.out")
            _, stderr = child(checkout, url, n, seed, wrapper)
            found = re.search(r"Collected : (\d+)", stderr)
            if not found:
                raise SystemExit(f"{checkout}: no instruction count from valgrind:\n{stderr[-2000:]}")
            counts.append(int(found.group(1)))
    return (counts[1] - counts[0]) / judgments


def compare_instructions(trees, args):
    counted = {}
    for name, checkout in trees.items():
        counted[name] = instructions_per_judgment(checkout, args.database_url, args.judgments, args.seed)
        print(f"{name:13s}: {counted[name] / 1e6:.2f} M instructions per judgment in the Django process "
              f"(callgrind, {args.judgments} judgments after {WARM_UP})", flush=True)
    if "baseline" in counted:
        print(f"this / baseline: {counted['this checkout'] / counted['baseline']:.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--judgments", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="another checkout, measured alternately")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--database-url", default="postgres://evalplat:evalplat@127.0.0.1:5432/evalplat_cpu")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions per judgment with valgrind (callgrind) instead of timing")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child's mode
    args = parser.parse_args()
    if args.measure:
        sys.path.insert(0, str(args.measure))
        return measure(args.database_url, args.judgments, args.seed)
    print(f"machine: {os.cpu_count()} cores, {os.uname().release}; load average {os.getloadavg()[0]:.1f}")
    trees = {"this checkout": ROOT}
    if args.baseline:
        trees["baseline"] = args.baseline.resolve()
    if args.instructions:
        if not shutil.which("valgrind"):
            parser.error("--instructions needs valgrind (Debian's package valgrind)")
        return compare_instructions(trees, args)
    results = {name: [] for name in trees}
    for repeat in range(args.repeat):
        order = list(trees) if repeat % 2 == 0 else list(reversed(trees))
        for name in order:
            (django_ms, postgres_ms, statements), _ = child(trees[name], args.database_url, args.judgments, args.seed)
            results[name].append((django_ms, postgres_ms))
            print(f"repeat {repeat + 1}, {name:13s}: Django {django_ms:6.2f} ms, PostgreSQL {postgres_ms:5.2f} ms "
                  f"CPU per judgment, {statements:.1f} statements besides BEGIN and COMMIT "
                  f"(load average {os.getloadavg()[0]:.1f})", flush=True)
    for name, values in results.items():
        print(f"{name}: median Django {statistics.median(v[0] for v in values):.2f} ms, "
              f"PostgreSQL {statistics.median(v[1] for v in values):.2f} ms CPU per judgment")
    if args.baseline:
        for index, (mine, theirs) in enumerate(zip(results["this checkout"], results["baseline"]), start=1):
            print(f"repeat {index}: this / baseline: Django {mine[0] / theirs[0]:.3f}, "
                  f"PostgreSQL {mine[1] / theirs[1]:.3f}, both {sum(mine) / sum(theirs):.3f}")


if __name__ == "__main__":
    main()
