# Shared by scripts/demo and scripts/test: build the virtualenv when the
# requirement files change, and find the Python to use.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON_BIN="${PYTHON:-python3.11}"
command -v "$PYTHON_BIN" >/dev/null 2>&1 || PYTHON_BIN=python3

ensure_venv() {
    # $1: requirements file. Rebuilds .venv only when that file (or what it includes) changed.
    local wanted stamp
    wanted="$(cat requirements.txt "$1" | sha256sum | cut -c1-16)"
    stamp=".venv/.requirements-$wanted"
    if [ ! -f "$stamp" ]; then
        echo "== installing Python packages into .venv ($1)"
        [ -x .venv/bin/python ] || "$PYTHON_BIN" -m venv .venv
        .venv/bin/pip install --quiet --upgrade pip
        .venv/bin/pip install --quiet -r "$1"
        rm -f .venv/.requirements-*
        touch "$stamp"
    fi
}
