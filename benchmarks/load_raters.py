"""Load test of the rater pages: N simulated raters against gunicorn on PostgreSQL, then an audit.

    .venv/bin/python benchmarks/load_raters.py --raters 200 --seconds 30 [--history 50000]
    .venv/bin/python benchmarks/load_raters.py --raters 200 --seconds 30 --compare-history 50000
    .venv/bin/python benchmarks/load_raters.py --raters 200 --seconds 30 --think 3

Without --think the raters are as fast as machines, so the server is saturated: the figure is its
capacity (judgments/s), and latency is then queueing, about raters / judgments-per-second per
judgment whatever the code does (Little's law). --think S has each rater read an item S seconds
on average first, which offers a load below capacity and measures latency the way a crowd of
people meets it.

It creates its own database (dropped and made again each run; --database-url, on this
machine's PostgreSQL only), migrates it, loads the demo's honesty-tone experiment with its
answers (`manage.py demo`), optionally adds H judgments of history (benchmarks/history.py),
starts gunicorn with production settings (DEBUG off, a random SECRET_KEY, persistent
connections) on a free loopback port, and runs N rater threads until the deadline. Every
address it talks to is on the loopback interface; anything else is refused.

Each simulated rater opens the study link with a fresh PROLIFIC_PID, consents, and judges
items until the session ends, then starts over as a new participant. On the way: 5% of item
pages are reloaded, 5% of submits are sent twice at once on two connections (a double
click), and 5% of items are also asked for by a second tab (/r/next/ on another connection,
which must land on the same item). Each thread keeps its connections alive (http.client).

"submit" is the POST of a judgment, which stores it, claims the next item and answers with that
item's page: one request a judgment, no redirect. "next item" is every other way to an item
page, the whole chain a browser follows: the study link, consent and the first item; a reload
(the item page); the end of a session (its redirect and the done page). After the deadline it
audits the database: every acknowledged submission (a POST answered with the next item's page
or a redirect to the end) stored exactly once, no assignment with two judgments, no rater given the same (query, pair) twice
(recomputed from the answers' variants, not from the stored cell key).
"""
import argparse
import http.client
import ipaddress
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CHOICES = ["a2", "a1", "same", "b1", "b2"]
# The address of the item an item page shows (its judging form's target): a submit is answered with
# the next item's page, at the submitted item's address, so the page is where the next one is named.
ITEM_ADDRESS = re.compile(r'<form class="judge card" method="post" action="(/r/a/[A-Za-z0-9_-]+/)" id="judge"')


def moved_on_to(status, location, page):
    """Where a POST that moves a rater on (a submit, a problem report, consent) led: the item whose page it
    answered with, or where it redirected (the end of the session); None for any other answer."""
    if status in (301, 302):
        return location
    found = ITEM_ADDRESS.search(page) if status == 200 else None
    return found.group(1) if found else None


def loopback_only(host):
    """Refuse any address that is not this machine's loopback interface."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as exc:
        raise SystemExit(f"{host}: {exc}") from None
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise SystemExit(f"{host} is not a loopback address ({', '.join(sorted(addresses))}): refusing to load it")
    return host


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    """One browser tab's worth of HTTP: a keep-alive connection and the site's cookies."""

    def __init__(self, port, cookies, reconnect=True):
        self.port = port
        self.cookies = cookies  # shared between a rater's tabs, as a browser's cookie jar is
        self.reconnect = reconnect  # retry once on a kept-alive connection the server closed
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method, path, body=None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            body = urlencode(body)
            headers.update({"Content-Type": "application/x-www-form-urlencoded",
                            "Origin": f"http://127.0.0.1:{self.port}",
                            "Referer": f"http://127.0.0.1:{self.port}{path}"})
        for attempt in range(2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                content = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()  # a server that closed a kept-alive connection: reconnect once
                if attempt or not self.reconnect:
                    raise
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        return response.status, response.getheader("Location", ""), content.decode()

    def close(self):
        self.connection.close()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.next_ms, self.submit_ms = [], []
        self.acknowledged = set()  # item public ids whose submit was answered (the next item's page, or the end)
        self.errors = []
        self.judgments = 0

    def add(self, kind, seconds):
        with self.lock:
            (self.next_ms if kind == "next" else self.submit_ms).append(seconds * 1000)

    def error(self, text):
        with self.lock:
            if len(self.errors) < 20:
                self.errors.append(text)


def follow(browser, path, stats, started):
    """GET `path` and its redirects up to a page; returns (final path, page). Times the chain as "next"."""
    for _ in range(5):
        status, location, page = browser.request("GET", path)
        if status in (301, 302):
            path = location
            continue
        stats.add("next", time.perf_counter() - started)
        if status != 200:
            stats.error(f"GET {path}: {status}")
        return path, page
    raise RuntimeError(f"too many redirects from {path}")


def arrive(browser, answer, where, stats, started):
    """(path, page) of where a POST that moved the rater on led (`where`, from moved_on_to): the item page
    it answered with, or its redirect followed and timed as "next" from `started` (the end of a session;
    in builds before 2026-12-03, every submit's redirect to the next item, so that they can be compared)."""
    return (where, answer[2]) if answer[0] == 200 else follow(browser, where, stats, started)


def rater_loop(n, port, token, deadline, stats, seed, delay, think=0.0):
    rng = random.Random(seed * 100_003 + n)
    time.sleep(delay)  # arrivals spread over the ramp, as a study's participants come in
    session = 0
    while time.monotonic() < deadline:
        cookies = {}
        tab, second_tab = Browser(port, cookies), Browser(port, cookies)
        try:
            session += 1
            started = time.perf_counter()
            query = urlencode({"PROLIFIC_PID": f"load-{seed}-{n}-{session}", "STUDY_ID": "load", "SESSION_ID": "s"})
            status, location, _ = tab.request("GET", f"/r/{token}/?{query}")
            if status != 302:
                stats.error(f"start: {status}")
                return
            _, _, page = tab.request("GET", location)
            answer = tab.request("POST", "/r/welcome/", {"consent": "yes", "csrfmiddlewaretoken": CSRF.search(page).group(1)})
            where = moved_on_to(*answer)
            if where is None:
                stats.error(f"consent: {answer[0]}")
                return
            path, page = arrive(tab, answer, where, stats, started)
            if answer[0] == 200:
                stats.add("next", time.perf_counter() - started)  # the study link, consent and the first item's page
            while "/r/a/" in path and time.monotonic() < deadline:
                if rng.random() < 0.05:  # a reload of the item page
                    path, page = follow(tab, path, stats, time.perf_counter())
                if rng.random() < 0.05:  # a second tab asks for the next item: the same one
                    other = second_tab.request("GET", "/r/next/")[1]
                    if other != path:
                        stats.error(f"second tab got {other}, first had {path}")
                if think:  # reading both responses: uniform on [0.5, 1.5] x think, so raters do not move in step
                    time.sleep(think * rng.uniform(0.5, 1.5))
                token_value = CSRF.search(page).group(1)
                form = {"choice": rng.choice(CHOICES), "rationale": "", "csrfmiddlewaretoken": token_value}
                started = time.perf_counter()
                if rng.random() < 0.05:  # a double click: the same submit twice at once
                    answers = []
                    twin = threading.Thread(target=lambda: answers.append(second_tab.request("POST", path, form)))
                    twin.start()
                    answer = tab.request("POST", path, form)
                    twin.join()
                    if answers and moved_on_to(*answers[0]) != moved_on_to(*answer):
                        stats.error(f"double submit went to {moved_on_to(*answer)} and {moved_on_to(*answers[0])}")
                else:
                    answer = tab.request("POST", path, form)
                stats.add("submit", time.perf_counter() - started)
                where = moved_on_to(*answer)
                if where is None:
                    stats.error(f"POST {path}: {answer[0]}")
                    break
                with stats.lock:
                    stats.acknowledged.add(path.rstrip("/").split("/")[-1])
                    stats.judgments += 1
                path, page = arrive(tab, answer, where, stats, time.perf_counter())
        except Exception as exc:  # noqa: BLE001 — reported, and the rater starts over
            stats.error(f"rater {n}: {exc!r}")
        finally:
            tab.close()
            second_tab.close()


def percentile(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def _process_cpu(pid):
    """utime + stime of one process (from /proc), 0 if it has ended."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process and its children still running (from /proc)."""
    pids = [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return sum(_process_cpu(p) for p in pids)


def postgres_processes():
    """{pid: CPU seconds} of this machine's PostgreSQL processes (the server, its backends, its workers)."""
    found = {}
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                found[int(comm.parent.name)] = _process_cpu(comm.parent.name)
        except (FileNotFoundError, ProcessLookupError):
            pass
    return found


def postgres_cpu_since(before):
    """PostgreSQL's CPU seconds since `before` (postgres_processes()): the backends opened since count whole;
    one that ended in between is missed (gunicorn keeps its connections, so few do)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in postgres_processes().items())


def manage(env, *args):
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def prepare_database(url, history):
    """A fresh database with the demo experiment (and history); returns the study link token."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = psycopg.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username,
                            password=parts.password, dbname="postgres", autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    env = {**os.environ, "DATABASE_URL": url, "CELERY_TASK_ALWAYS_EAGER": "true", "DEBUG": "1"}  # set-up commands only
    manage(env, "migrate", "--verbosity", "0")
    manage(env, "demo", f"--password={secrets.token_urlsafe(12)}")  # "=": a password may begin with "-"
    loader = (
        "import django; django.setup()\n"
        "from benchmarks.history import load_history\n"
        "from evalplat.experiments.models import Experiment\n"
        "from evalplat.rating.models import Invite\n"
        "experiment = Experiment.objects.get(slug='honesty-tone')\n"
        f"load_history(experiment, {history}, seed=1) if {history} else None\n"
        "from django.db import connection\n"
        "# A database that collected its history over days has had its statistics kept up to date by\n"
        "# autovacuum; one bulk-loaded a moment ago has not, and would be planned as nearly empty.\n"
        "from evalplat.rating.models import Assignment, Judgment, Rater\n"
        "tables = ', '.join(m._meta.db_table for m in (Assignment, Judgment, Rater))\n"
        "connection.vendor == 'postgresql' and connection.cursor().execute(f'ANALYZE {tables}')\n"
        "from evalplat.rating.scheduling import refill\n"
        "refill(experiment)  # the first batch, as opening rating in the console plans it\n"
        "print(Invite.objects.filter(experiment=experiment, kind='study').first().token)\n")
    started = time.perf_counter()
    child = subprocess.run([PYTHON, "-c", loader], cwd=ROOT, capture_output=True, text=True, check=True,
                           env={**env, "DJANGO_SETTINGS_MODULE": "evalplat.settings", "PYTHONPATH": str(ROOT)})
    if history:
        print(f"  loaded {history} judgments of history in {time.perf_counter() - started:.1f} s")
    return child.stdout.split()[-1]


def serve(url, port, workers, threads, **extra_env):
    """gunicorn (gunicorn.conf.py) with production settings on 127.0.0.1:`port`; returns the master process."""
    env = {**os.environ, **extra_env, "DATABASE_URL": url, "DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(50),
           "ALLOWED_HOSTS": "127.0.0.1", "DB_CONN_MAX_AGE": "60", "WEB_BIND": f"127.0.0.1:{port}",
           "WEB_WORKERS": str(workers), "WEB_THREADS": str(threads),
           # Simulated raters are as fast as machines: lift the per-rater limits (they are tested elsewhere).
           "RATING_NEW_RATERS_PER_ADDRESS": "1000000/m", "RATING_NEW_RATERS_PER_LINK": "1000000/m",
           "RATING_SUBMITS_PER_RATER": "1000000/m"}
    server = subprocess.Popen([str(Path(PYTHON).parent / "gunicorn"), "evalplat.wsgi"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn exited: {server.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
    server.kill()
    raise SystemExit("gunicorn did not start")


def audit(url, acknowledged):
    """Findings (empty when clean): lost or doubled submissions, doubled assignments, repeated cells."""
    import psycopg

    findings = []
    with psycopg.connect(url) as db:
        stored = dict(db.execute(
            "SELECT a.public_id, count(j.id) FROM rating_assignment a JOIN rating_judgment j ON j.assignment_id = a.id"
            " GROUP BY a.public_id").fetchall())
        lost = [p for p in acknowledged if stored.get(p, 0) != 1]
        if lost:
            findings.append(f"{len(lost)} acknowledged submissions not stored exactly once, e.g. {lost[:3]}")
        doubled = db.execute("SELECT count(*) FROM (SELECT assignment_id FROM rating_judgment GROUP BY assignment_id"
                             " HAVING count(*) > 1) d").fetchone()[0]
        if doubled:
            findings.append(f"{doubled} assignments with more than one judgment")
        mismatched = db.execute("SELECT count(*) FROM rating_assignment a LEFT JOIN rating_judgment j"
                                " ON j.assignment_id = a.id WHERE (a.status = 'judged') <> (j.id IS NOT NULL)").fetchone()[0]
        if mismatched:
            findings.append(f"{mismatched} assignments whose status disagrees with their judgment")
        repeated = db.execute(
            "SELECT count(*) FROM (SELECT a.rater_id FROM rating_assignment a"
            " JOIN generation_answer l ON l.id = a.left_answer_id JOIN generation_answer r ON r.id = a.right_answer_id"
            " WHERE a.rater_id IS NOT NULL AND NOT a.is_gold"
            " GROUP BY a.rater_id, a.query_id, least(l.variant_id, r.variant_id), greatest(l.variant_id, r.variant_id)"
            " HAVING count(*) > 1) d").fetchone()[0]
        if repeated:
            findings.append(f"{repeated} (rater, query, pair) cells given twice")
    return findings


def efficiency(url):
    """The pair scheduler's efficiency (designs.schedule.schedule_efficiency) of what the queue handed out and got judged."""
    code = (
        "import django; django.setup()\n"
        "from designs.schedule import ScheduledItem, schedule_efficiency\n"
        "from evalplat.rating.models import Assignment\n"
        "from evalplat.rating.scheduling import Layout\n"
        "from evalplat.experiments.models import Experiment\n"
        "e = Experiment.objects.get(slug='honesty-tone'); layout = Layout.load(e)\n"
        "rows = Assignment.objects.filter(experiment=e, is_gold=False, status='judged', rater__external_id__startswith='load-')"
        ".values_list('left_answer_id', 'right_answer_id')\n"
        "items = [ScheduledItem(0, *layout.indices(l, r)) for l, r in rows]\n"
        "eff = schedule_efficiency(layout.runs, layout.levels, items)\n"
        "print(len(items), min(eff.values()), max(eff.values()))\n")
    child = subprocess.run([PYTHON, "-c", code], cwd=ROOT, capture_output=True, text=True,
                           env={**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "evalplat.settings",
                                "PYTHONPATH": str(ROOT), "DEBUG": "1"})  # a read-only check, not the server
    if child.returncode != 0:
        return "efficiency not measured: " + child.stderr[-300:]
    n, low, high = child.stdout.split()
    return f"scheduler efficiency of the {n} judged items: {float(low):.3f}-{float(high):.3f} of the mirror-pair bound"


def run(args, history):
    url = args.database_url
    pace = f", each reading an item {args.think:g} s on average" if args.think else ", as fast as machines"
    print(f"== {args.raters} raters (arriving over {args.ramp:g} s{pace}), {history} judgments of history, "
          f"gunicorn {args.workers} x {args.threads} gthread, {args.seconds:g} s")
    token = prepare_database(url, history)
    port = free_port()
    server = serve(url, port, args.workers, args.threads)
    stats = Stats()
    try:
        wall0, client0, server0 = time.monotonic(), time.process_time(), cpu_seconds(server.pid)
        database0 = postgres_processes()
        deadline = time.monotonic() + args.seconds
        threads = [threading.Thread(target=rater_loop, daemon=True,
                                    args=(n, port, token, deadline, stats, args.seed, args.ramp * n / args.raters,
                                          args.think))
                   for n in range(args.raters)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.seconds + 60)
        wall = time.monotonic() - wall0
        client_cpu, server_cpu = time.process_time() - client0, cpu_seconds(server.pid) - server0
        database_cpu = postgres_cpu_since(database0)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    findings = audit(url, stats.acknowledged)
    print(f"  judgments/s {stats.judgments / wall:.1f} ({stats.judgments} in {wall:.1f} s)")
    for name, values in (("next item", stats.next_ms), ("submit", stats.submit_ms)):
        print(f"  {name:9s} p50 {percentile(values, 50):7.1f} ms  p95 {percentile(values, 95):7.1f} ms  "
              f"p99 {percentile(values, 99):7.1f} ms  (n={len(values)})")
    print(f"  CPU: client {client_cpu / wall:.2f} cores, gunicorn {server_cpu / wall:.2f} cores "
          f"(client {client_cpu / max(1e-9, client_cpu + server_cpu):.0%} of the two), PostgreSQL "
          f"{database_cpu / wall:.2f} cores; machine has {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    if stats.judgments:
        print(f"  CPU per judgment: gunicorn {server_cpu / stats.judgments * 1000:.2f} ms, "
              f"PostgreSQL {database_cpu / stats.judgments * 1000:.2f} ms")
    print(f"  errors: {len(stats.errors)}{': ' + '; '.join(stats.errors[:5]) if stats.errors else ''}")
    print(f"  audit: {'clean' if not findings else '; '.join(findings)}")
    print(f"  {efficiency(url)}")
    return {"p99_next": percentile(stats.next_ms, 99), "p99_submit": percentile(stats.submit_ms, 99),
            "findings": findings}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--raters", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30, help="deadline: the run stops by itself")
    parser.add_argument("--history", type=int, default=0, help="judgments already in the experiment")
    parser.add_argument("--compare-history", type=int, default=0,
                        help="run with no history, then with this much, back to back, and print the p99 ratio")
    parser.add_argument("--ramp", type=float, default=5, help="seconds over which the raters arrive")
    parser.add_argument("--think", type=float, default=0.0,
                        help="seconds a rater reads each item before submitting, on average (default: none, so the "
                             "server is saturated and latency is queueing: Little's law gives raters / judgments per s)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (gunicorn.conf.py's default)")
    parser.add_argument("--threads", type=int, default=2, help="threads per worker (gunicorn.conf.py's default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--database-url", default="postgres://evalplat:evalplat@127.0.0.1:5432/evalplat_load")
    args = parser.parse_args()
    if not 1 <= args.raters <= 1000 or not 1 <= args.seconds <= 600 or not 0 <= args.think <= 60:
        raise SystemExit("--raters must be 1-1000, --seconds 1-600 and --think 0-60")
    loopback_only(urlsplit(args.database_url).hostname or "127.0.0.1")
    loopback_only("127.0.0.1")
    print(f"machine: {os.cpu_count()} cores, {os.uname().release}; load average {os.getloadavg()[0]:.1f}")
    if args.compare_history:
        base = run(args, 0)
        loaded = run(args, args.compare_history)
        print(f"== p99 next item at {args.compare_history} / at 0: {loaded['p99_next'] / base['p99_next']:.2f}; "
              f"p99 submit: {loaded['p99_submit'] / base['p99_submit']:.2f}")
    else:
        run(args, args.history)


if __name__ == "__main__":
    main()
