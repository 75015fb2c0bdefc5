#!/usr/bin/env python
"""Django's command-line utility for evalplat.

Besides running the command it turns the ways a newcomer's first command fails into one line
each, instead of a traceback: a Python without Django, settings that refuse to load (e.g. the
public development key with DEBUG off) and a database that is missing or has not been migrated.
A SQLite file that does not exist yet is created only by `migrate` (and `demo`, which migrates),
so a premature command leaves no empty database behind that would later look like a real one.
"""
import os
import sys
from pathlib import Path

# Commands that create the SQLite file on purpose (every other one opens an existing file or none).
CREATES_THE_DATABASE = {"migrate", "demo"}  # demo migrates first
# Commands that open the database in a thread of their own, where a failure cannot be caught here:
# a missing file is reported before they start.
OPENS_IT_IN_A_THREAD = {"runserver"}


def fail(message):
    sys.stderr.write(f"manage.py: {message}\n")
    sys.exit(2)


def sqlite_path(database):
    """The database's file, or None when it is not a file-backed SQLite database."""
    name = str(database.get("NAME") or "")
    if database.get("ENGINE") != "django.db.backends.sqlite3" or not name or name.startswith("file:") \
            or name == ":memory:":
        return None
    return Path(name)


def shown(path):
    """The path as the user would type it: relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def unmigrated(database, path):
    """A one-line explanation when the database is missing or behind its migrations, else None."""
    from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
    from django.db.migrations.executor import MigrationExecutor

    hint = "run  scripts/manage migrate  first (scripts/demo does it too, and loads the demo)"
    if path is not None and not path.exists():
        return f"the database {shown(path)} does not exist yet: {hint}"
    connection = connections[DEFAULT_DB_ALIAS]
    where = f"the database {shown(path)}" if path is not None else \
        f"the {connection.display_name} database {database['NAME']!r}"
    connection.close()  # a failed query may have left the connection unusable
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError:
        return None  # the database itself is at fault; the original error says more
    if not pending:
        return None
    return f"{where} has not been migrated ({len(pending)} migrations not applied): {hint}"


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalplat.settings")
    try:
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured
        from django.core.management import execute_from_command_line
        from django.db import DatabaseError
    except ImportError:
        fail(f"Django is not installed for {sys.executable}: run  scripts/manage  instead "
             "(it uses .venv, which it builds when missing), or .venv/bin/python manage.py")
    try:
        database = settings.DATABASES["default"]
    except ImproperlyConfigured as error:
        fail(f"ImproperlyConfigured: {error}")
    path = sqlite_path(database)
    if path is not None and not path.exists():
        command = (sys.argv[1:2] or [""])[0]
        if command in CREATES_THE_DATABASE:
            path.parent.mkdir(parents=True, exist_ok=True)  # var/ is not in git
        elif command in OPENS_IT_IN_A_THREAD:
            fail(unmigrated(database, path))
        else:
            # Before any connection: sqlite3's URI mode=rw opens an existing file and fails on a
            # missing one instead of creating it (Django opens NAME as a URI).
            database["NAME"] = f"{path.resolve().as_uri()}?mode=rw"
    try:
        execute_from_command_line(sys.argv)
    except DatabaseError:
        message = unmigrated(database, path)
        if message is None:
            raise
        fail(message)


if __name__ == "__main__":
    main()
