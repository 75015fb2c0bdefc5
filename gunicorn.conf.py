"""gunicorn's settings for evalplat (read from the working directory: `gunicorn evalplat.wsgi`).

Chosen by measurement with benchmarks/load_raters.py (README "Serving"): on 2 cores,
gthread workers with a few threads each; a worker more than there are cores keeps the CPU
busy while threads wait for PostgreSQL, and threads keep browsers' connections alive
(3 x 2 beat 2 x 4 by 7-10% in two A/B pairs, and 4 x 2). Override with WEB_WORKERS,
WEB_THREADS and WEB_BIND.
"""
import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_WORKERS", "3"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "2"))
keepalive = 5
# The app is imported once in the master, then forked: workers start in milliseconds and share its pages.
preload_app = True
# A worker silent this long is killed and replaced; a rater request takes milliseconds.
timeout = 30
graceful_timeout = 20
# Recycle workers now and then so that no slow leak grows without bound.
max_requests = 20000
max_requests_jitter = 2000
accesslog = os.environ.get("WEB_ACCESS_LOG") or None
# gunicorn 23+ opens a control socket in the home directory by default: one per machine, so two
# servers (a load test beside a deployment) would fight over it. We do not use it.
control_socket_disable = True
