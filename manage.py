#!/usr/bin/env python
"""Django's command-line utility for evalplat.

Besides running the command it turns the two ways a newcomer's first command fails into one
line each, instead of a traceback: settings that refuse to load (e.g. the public development
key with DEBUG off) and a database that has not been migrated. Against a SQLite file that does
not exist yet, only `migrate` may create it, so a mistyped or premature command leaves no empty
database behind that would later look like a real one.
"""
import os
import sys
from pathlib import Path

# Commands that create the SQLite file on purpose (every other one opens an existing file or none).
CREATES_THE_DATABASE = {"migrate", "demo"}  # demo migrates first


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

    connection = connections[DEFAULT_DB_ALIAS]
    where = f"the database {shown(path)}" if path is not None else \
        f"the {connection.display_name} database {database['NAME']!r}"
    hint = "run  scripts/manage migrate  first (scripts/demo does it too, and loads the demo)"
    if path is not None and not path.exists():
        return f"{where} does not exist yet: {hint}"
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
        if (sys.argv[1:2] or [""])[0] in CREATES_THE_DATABASE:
            path.parent.mkdir(parents=True, exist_ok=True)  # var/ is not in git
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
