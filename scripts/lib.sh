# Shared by scripts/demo and scripts/test: build the virtualenv when the
# requirement files change, and find the Python to use.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON_BIN="${PYTHON:-python3.11}"
command -v "$PYTHON_BIN" >/dev/null 2>&1 || PYTHON_BIN=python3

stamp_for() {
    # A stamp per requirements file and content: .venv/.installed-<file>-<hash>.
    echo ".venv/.installed-$1-$(cat requirements.txt "$1" | sha256sum | cut -c1-16)"
}

ensure_venv() {
    # $1: requirements.txt (the demo) or requirements-dev.txt (the tests, a superset).
    # Installs only when that file (or requirements.txt, which it includes) changed.
    if [ -f "$(stamp_for "$1")" ]; then
        return
    fi
    echo "== installing Python packages into .venv ($1)"
    [ -x .venv/bin/python ] || "$PYTHON_BIN" -m venv .venv
    .venv/bin/pip install --quiet --upgrade pip
    # (this machine's pip.conf names a local index folder that may be absent; its warnings are noise)
    .venv/bin/pip install --quiet -r "$1" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
    rm -f .venv/.installed-*
    touch "$(stamp_for "$1")" "$(stamp_for requirements.txt)"
}

demo_environment() {
    # The demo's environment, shared by scripts/demo and scripts/manage so that a command reaches
    # what the demo serves: DEBUG on (which is what lets the public development SECRET_KEY through;
    # production sets its own key, see README "Security") and tasks in-process (no broker). The
    # database needs nothing here: settings.py defaults to var/demo.sqlite3. Whatever is already
    # set in the environment wins.
    export DEBUG="${DEBUG:-1}"
    export CELERY_TASK_ALWAYS_EAGER="${CELERY_TASK_ALWAYS_EAGER:-1}"
}
