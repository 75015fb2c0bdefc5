"""A fresh web worker serves its first rater page without importing the statistics stack.

scipy and matplotlib took 2.6–3.5 s to import on the first request of each new
worker, because the URL configuration imported the analysis views. This runs in a
subprocess, so nothing the test session imported earlier hides an import.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import os, sys, time
started = time.perf_counter()
import django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
import evalplat.urls
setup_test_environment()
response = Client().get("/r/welcome/")  # a rater page (no session here: its 404 page)
assert response.status_code == 404, response.status_code
heavy = sorted(name for name in ("scipy", "matplotlib", "statsmodels", "pydoe") if name in sys.modules)
print(repr(heavy), round(time.perf_counter() - started, 3))
"""


@pytest.mark.django_db
def test_a_rater_page_needs_neither_scipy_nor_matplotlib():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "evalplat.settings"}
    child = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=120)
    assert child.returncode == 0, child.stderr[-3000:]
    heavy, seconds = child.stdout.split()
    # Timing on a shared machine is noise; the modules are the cause (README "Serving" has the figures).
    assert heavy == "[]", f"imported on the rater path: {heavy} ({seconds} s)"
