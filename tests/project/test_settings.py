import pytest
from django.core.exceptions import ImproperlyConfigured

from evalplat.settings import database_from_url, envbool, envfloat, envint


def test_env_helpers_read_good_values(monkeypatch):
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_FLOAT", "0.5")
    assert envbool("X_BOOL", False) is True
    assert envint("X_INT", 0) == 42
    assert envfloat("X_FLOAT", 0.0) == 0.5
    assert envint("X_UNSET_NAME", 7) == 7


@pytest.mark.parametrize("reader,value,message", [
    (envbool, "maybe", "expected true/false"),
    (envint, "4.5", "expected a whole number"),
    (envfloat, "fast", "expected a number"),
])
def test_env_helpers_reject_bad_values_naming_the_variable(monkeypatch, reader, value, message):
    monkeypatch.setenv("X_BAD", value)
    with pytest.raises(ImproperlyConfigured, match=f"X_BAD='{value}': {message}"):
        reader("X_BAD", None)


def test_database_urls():
    pg = database_from_url("postgres://user:p%40ss@db.example:6543/evalplat")
    assert pg["ENGINE"] == "django.db.backends.postgresql"
    assert (pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"], pg["NAME"]) == ("user", "p@ss", "db.example", "6543", "evalplat")
    assert database_from_url("sqlite:////tmp/x.db")["NAME"] == "/tmp/x.db"
    with pytest.raises(ImproperlyConfigured, match="scheme must be sqlite or postgres"):
        database_from_url("mysql://x/y")
    with pytest.raises(ImproperlyConfigured, match="no database name"):
        database_from_url("postgres://localhost/")
