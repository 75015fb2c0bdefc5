"""A newcomer's first commands in a fresh checkout, as README "Quick start" gives them.

Each test copies the working tree without its databases or var/ (what `git clone` gives),
shares this suite's virtualenv as .venv, and runs the scripts with an environment that has none
of the project's variables, so the defaults are what is tested: the demo's database
var/demo.sqlite3, scripts/manage's DEBUG, and the one-line messages when a step is missing.
"""
import hashlib
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DESIGN = "designs/examples/honesty-tone.toml"
NOT_IN_A_CLONE = shutil.ignore_patterns(".git", ".venv", ".venv-vllm", "var", "staticfiles", "__pycache__",
                                        ".pytest_cache", "*.sqlite3")


@pytest.fixture
def checkout(tmp_path):
    tree = tmp_path / "evalplat"
    shutil.copytree(ROOT, tree, ignore=NOT_IN_A_CLONE, symlinks=True)
    (tree / ".venv").symlink_to(Path(sys.prefix))
    # scripts/lib.sh's stamp for requirements.txt as it is now (`cat requirements.txt requirements.txt |
    # sha256sum`): without it scripts/manage would reinstall every package into this suite's virtualenv.
    requirements = (ROOT / "requirements.txt").read_bytes()
    stamp = Path(sys.prefix) / f".installed-requirements.txt-{hashlib.sha256(requirements * 2).hexdigest()[:16]}"
    assert stamp.exists(), f"{sys.prefix} is not up to date with requirements.txt: run scripts/test, which updates it"
    return tree


def run(checkout, *args, extra_env=None):
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(checkout)), "LANG": "C.UTF-8"}
    return subprocess.run([str(checkout / args[0]), *args[1:]], cwd=checkout, env=env | (extra_env or {}),
                          capture_output=True, text=True, timeout=300)


def assert_one_line_without_traceback(result, *expected):
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0], result.stderr


def test_plan_runs_in_a_fresh_checkout_and_writes_no_database(checkout):
    result = run(checkout, "scripts/manage", "plan", DESIGN)
    assert result.returncode == 0, result.stderr
    assert "Judgments needed for a 95% interval" in result.stdout
    assert not (checkout / "var").exists()


def test_a_database_command_before_migrate_says_so_and_creates_no_file(checkout):
    # runserver opens the database in a thread of its own: it is stopped before it starts.
    for command in (["create_experiment", DESIGN], ["runserver", "127.0.0.1:0"]):
        result = run(checkout, "scripts/manage", *command)
        assert_one_line_without_traceback(result, "manage.py: the database var/demo.sqlite3 does not exist yet",
                                          "scripts/manage migrate")
        assert not (checkout / "var").exists()

    (checkout / "var").mkdir()
    (checkout / "var" / "demo.sqlite3").touch()  # e.g. left by an older version: a file with no tables
    result = run(checkout, "scripts/manage", "create_experiment", DESIGN)
    assert_one_line_without_traceback(result, "manage.py: the database var/demo.sqlite3 has not been migrated (",
                                      "migrations not applied)", "scripts/manage migrate")


def test_after_migrate_the_commands_reach_one_database(checkout):
    assert run(checkout, "scripts/manage", "migrate", "-v", "0").returncode == 0
    created = run(checkout, "scripts/manage", "create_experiment", DESIGN)
    assert created.returncode == 0, created.stderr
    # A bare manage.py with DEBUG on (README "Settings") finds the same default database.
    listed = run(checkout, ".venv/bin/python", "manage.py", "shell", "--no-imports", "-c",
                 "from evalplat.experiments.models import Experiment; print(list(Experiment.objects.values_list('slug', flat=True)))",
                 extra_env={"DEBUG": "1"})
    assert listed.stdout.strip() == "['honesty-tone']", listed.stderr
    assert [p.name for p in (checkout / "var").iterdir()] == ["demo.sqlite3"]


def test_a_bare_manage_py_explains_the_development_key_in_one_line(checkout):
    result = run(checkout, ".venv/bin/python", "manage.py", "plan", DESIGN)
    assert_one_line_without_traceback(
        result, "manage.py: ImproperlyConfigured: SECRET_KEY is the public development key and DEBUG is off",
        "scripts/manage")


def test_the_demo_reports_a_taken_port_before_anything_says_ready(checkout):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for how in ({"args": [str(port)]}, {"args": [], "env": {"DEMO_ADDRESS": f"127.0.0.1:{port}"}}):
            result = run(checkout, "scripts/demo", *how["args"], extra_env=how.get("env"))
            assert result.returncode == 1, result.stdout + result.stderr
            assert "ready" not in result.stdout
            assert_one_line_without_traceback(result, f"port {port} on 127.0.0.1 is taken",
                                              f"scripts/demo {port + 1}", f"DEMO_ADDRESS=127.0.0.1:{port + 1}")
            assert not (checkout / "var" / "demo.sqlite3").exists()


def test_the_demo_refuses_an_address_it_cannot_read(checkout):
    result = run(checkout, "scripts/demo", "127.0.0.1:99999")
    assert_one_line_without_traceback(result, "address '127.0.0.1:99999': expected PORT or HOST:PORT")
    assert run(checkout, "scripts/demo", "8001", "extra").returncode == 2
