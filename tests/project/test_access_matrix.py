"""Who may open what: every URL pattern the resolver knows × seven kinds of visitor × GET/POST.

The patterns are found from the URL resolver, so a new URL cannot be missed: a pattern whose
name is not in EXPECTED, or whose URL keyword the test cannot fill, fails the test naming it.
Each request runs in a savepoint that is rolled back, so every cell starts from the same state
(a POST that closes rating or revokes the link does not change what the next cell sees).
"""
import copy
import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from evalplat.experiments.importing import import_design_text
from evalplat.generation.models import Answer
from evalplat.rating.models import Assignment, Invite
from tests.rating.conftest import add_answers, open_for_rating, start_session  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

SUBJECTS = ["anonymous", "rater", "another_rater", "foreign_rater", "owner", "other_experimenter", "superuser"]
RATERS = ("rater", "another_rater", "foreign_rater")

# What each visitor gets: OK is any 2xx/3xx that is not the login redirect; LOGIN is the redirect
# to the login page; numbers are status codes. 405: the view takes only the other method (said
# the same for every experiment, so it reveals nothing).
OK, LOGIN = "ok", "login"
CONSOLE = {"anonymous": LOGIN, **{r: LOGIN for r in RATERS}, "owner": OK, "other_experimenter": 404, "superuser": OK}
CONSOLE_POST_ONLY = {**CONSOLE, "owner": 405, "other_experimenter": 405, "superuser": 405}
CONSOLE_GET_ONLY = CONSOLE_POST_ONLY  # the same cells: the other method is refused for every experiment
CONSOLE_LIST = {**CONSOLE, "other_experimenter": OK}  # no experiment in the URL: each sees their own
CONSOLE_LIST_422 = {**CONSOLE_LIST, "owner": 422, "other_experimenter": 422, "superuser": 422}
RATER_SESSION = {s: 404 for s in SUBJECTS} | {"rater": OK, "another_rater": OK, "foreign_rater": OK}
OWN_ITEM = {s: 404 for s in SUBJECTS} | {"rater": OK}  # the item is the first rater's
OWN_ITEM_POST = OWN_ITEM | {"rater": 400}  # an empty form (judgment, problem report): refused with the errors
EVERYONE = {s: OK for s in SUBJECTS}
EVERYONE_405 = {s: 405 for s in SUBJECTS}

EXPECTED = {  # (URL name, method) -> visitor -> outcome
    ("", "GET"): EVERYONE, ("", "POST"): EVERYONE,  # / redirects to the console
    ("favicon", "GET"): EVERYONE, ("favicon", "POST"): EVERYONE_405,
    # The console's login page is open to all (a logged-in visitor is sent on to the console); logging
    # out takes only POST, and sends everyone to the login page.
    ("login", "GET"): EVERYONE, ("login", "POST"): EVERYONE,
    ("logout", "GET"): EVERYONE_405, ("logout", "POST"): {s: LOGIN for s in SUBJECTS},
    ("console:index", "GET"): CONSOLE_LIST, ("console:index", "POST"): CONSOLE_LIST,
    ("console:detail", "GET"): CONSOLE, ("console:detail", "POST"): CONSOLE,
    # The new-experiment page (GET only) and its Check and Create (POST only; Check shows the
    # problems of an empty form in the page, Create refuses it with 422).
    ("design:new", "GET"): CONSOLE_LIST, ("design:new", "POST"): EVERYONE_405,
    ("design:check", "GET"): EVERYONE_405, ("design:check", "POST"): CONSOLE_LIST,
    ("design:create", "GET"): EVERYONE_405, ("design:create", "POST"): CONSOLE_LIST_422,
    ("generation:page", "GET"): CONSOLE, ("generation:page", "POST"): CONSOLE_GET_ONLY,
    ("generation:status", "GET"): CONSOLE, ("generation:status", "POST"): CONSOLE_GET_ONLY,
    ("generation:answers", "GET"): CONSOLE, ("generation:answers", "POST"): CONSOLE_GET_ONLY,
    ("generation:start", "GET"): CONSOLE_POST_ONLY, ("generation:start", "POST"): CONSOLE,
    ("generation:retry", "GET"): CONSOLE_POST_ONLY, ("generation:retry", "POST"): CONSOLE,
    ("generation:exclude", "GET"): CONSOLE_POST_ONLY, ("generation:exclude", "POST"): CONSOLE,
    ("generation:cancel", "GET"): CONSOLE_POST_ONLY, ("generation:cancel", "POST"): CONSOLE,
    ("generation:upload", "GET"): CONSOLE_POST_ONLY, ("generation:upload", "POST"): CONSOLE,
    ("console:confirm", "GET"): CONSOLE_POST_ONLY, ("console:confirm", "POST"): CONSOLE,
    ("console:distill", "GET"): CONSOLE_POST_ONLY, ("console:distill", "POST"): CONSOLE,
    ("console:distill_check", "GET"): CONSOLE_POST_ONLY, ("console:distill_check", "POST"): CONSOLE,
    ("console:report", "GET"): CONSOLE, ("console:report", "POST"): CONSOLE,
    ("console:export", "GET"): CONSOLE, ("console:export", "POST"): CONSOLE,
    ("console:export_file", "GET"): CONSOLE, ("console:export_file", "POST"): CONSOLE,
    ("console:rating", "GET"): CONSOLE, ("console:rating", "POST"): CONSOLE,
    ("console:rating_status", "GET"): CONSOLE_POST_ONLY, ("console:rating_status", "POST"): CONSOLE,
    ("console:invite_create", "GET"): CONSOLE_POST_ONLY, ("console:invite_create", "POST"): CONSOLE,
    ("console:invite_revoke", "GET"): CONSOLE_POST_ONLY, ("console:invite_revoke", "POST"): CONSOLE,
    ("console:leaks", "GET"): CONSOLE, ("console:leaks", "POST"): CONSOLE,
    ("console:exclude_answer", "GET"): CONSOLE_POST_ONLY, ("console:exclude_answer", "POST"): CONSOLE,
    # Rater pages: a study link makes whoever opens it a rater; the rest need a rater session.
    ("rating:start", "GET"): EVERYONE, ("rating:start", "POST"): EVERYONE,
    ("rating:welcome", "GET"): RATER_SESSION, ("rating:welcome", "POST"): RATER_SESSION | {
        "rater": 400, "another_rater": 400, "foreign_rater": 400},  # no consent given in the form
    ("rating:next", "GET"): RATER_SESSION, ("rating:next", "POST"): RATER_SESSION,
    ("rating:done", "GET"): RATER_SESSION, ("rating:done", "POST"): RATER_SESSION,
    ("rating:item", "GET"): OWN_ITEM, ("rating:item", "POST"): OWN_ITEM_POST,
    ("rating:report", "GET"): EVERYONE_405, ("rating:report", "POST"): OWN_ITEM_POST,  # an empty report: 400
}
# The admin: superusers only (staff status); everyone else is sent to its login page, which
# itself is open to all. Only GET is tried: its POSTs change or delete rows. What a superuser
# gets varies by page (403 for "add" on django-axes's read-only logs, 404 for a missing
# object), so for them the rule is only: no server error.
NO_SERVER_ERROR = "no 5xx"
ADMIN = {s: LOGIN for s in SUBJECTS} | {"superuser": NO_SERVER_ERROR}
ADMIN_EXCEPTIONS = {"admin:login": EVERYONE,
                    # logging out is a POST; a GET shows nothing (405) or, without a session, the login
                    "admin:logout": {s: OK for s in SUBJECTS} | {"superuser": 405}}


def filled(route, values):
    """The URL of `route` (a path() route or a re_path() regex) with its keywords filled in."""
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m.group(1)]), route)
    route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)
    return "/" + route.replace("^", "").replace("$", "")


def patterns(resolver=None, prefix="", namespace=""):
    """(route, name, keyword names) of every pattern, included ones too."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from patterns(entry, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else ""
            keywords = list(entry.pattern.regex.groupindex)
            yield prefix + str(entry.pattern), name, keywords


@pytest.fixture
def world(owner, outsider, django_user_model, start_session):
    """Experiment A (the owner's) and B (the other experimenter's), both open for rating, and a
    client per visitor. The first rater has an item of A in hand."""
    from pathlib import Path

    small = (Path(__file__).parents[1] / "fixtures" / "small.toml").read_text()
    mine = open_for_rating(_answered(import_design_text(small, "small.toml", owner=owner)))
    theirs = open_for_rating(_answered(import_design_text(small.replace('name = "small"', 'name = "theirs"'),
                                                          "theirs.toml", owner=outsider)))
    invite = Invite.objects.create(experiment=mine, kind=Invite.Kind.STUDY, created_by=owner)
    foreign_invite = Invite.objects.create(experiment=theirs, kind=Invite.Kind.STUDY, created_by=outsider)
    clients = {name: Client() for name in SUBJECTS}
    item_url = start_session(clients["rater"], invite)
    start_session(clients["another_rater"], invite)
    start_session(clients["foreign_rater"], foreign_invite)
    clients["owner"].force_login(owner)
    clients["other_experimenter"].force_login(outsider)
    clients["superuser"].force_login(django_user_model.objects.create_superuser("root", "r@example.com", "root-pw-1"))
    public_id = item_url.rstrip("/").rsplit("/", 1)[1]
    assert Assignment.objects.filter(public_id=public_id, rater__invite=invite).exists()
    fill = {
        "slug": mine.slug, "token": invite.token, "public_id": public_id, "invite_id": invite.pk,
        "answer_id": Answer.objects.filter(experiment=mine).first().pk, "name": "answers.jsonl",
        # the admin's
        "app_label": "auth", "object_id": str(owner.pk), "content_type_id": ContentType.objects.get_for_model(
            django_user_model).pk, "url": "nowhere/", "id": str(owner.pk),
    }
    return clients, fill


def _answered(experiment):
    add_answers(experiment)
    return experiment


def outcome(response):
    location = response.get("Location", "")
    if response.status_code == 302 and (location.startswith("/admin/login/") or "/login/" in location):
        return LOGIN
    return OK if response.status_code < 400 else response.status_code


def request(template, method, url):
    """One request as `template`'s visitor, in a savepoint rolled back afterwards; the visitor's
    cookies are copied, so a request that changes the session does not change the next one."""
    client = Client()
    client.cookies = copy.deepcopy(template.cookies)
    with transaction.atomic():
        response = client.get(url) if method == "GET" else client.post(url, {})
        transaction.set_rollback(True)
    return response


def test_every_url_answers_each_visitor_as_the_table_says(world):
    clients, fill = world
    unknown, mismatches, checked = [], [], 0
    for route, name, keywords in patterns():
        missing = [k for k in keywords if k not in fill]
        if missing:
            unknown.append(f"{route!r} ({name}): no fixture for URL keyword(s) {missing}")
            continue
        is_admin = route.startswith("admin/")
        methods = ["GET"] if is_admin else ["GET", "POST"]
        for method in methods:
            table = (ADMIN_EXCEPTIONS.get(name, ADMIN) if is_admin else EXPECTED.get((name, method)))
            if table is None:
                unknown.append(f"{route!r} ({name or 'unnamed'}, {method}): not in the access table")
                continue
            url = filled(route, fill)
            for subject in SUBJECTS:
                response = request(clients[subject], method, url)
                got = outcome(response)
                if table[subject] == NO_SERVER_ERROR and response.status_code < 500:
                    got = NO_SERVER_ERROR
                checked += 1
                if got != table[subject]:
                    mismatches.append(f"{method} {url} as {subject}: expected {table[subject]}, got {got}")
    assert not unknown, "URL patterns the access matrix does not know:\n" + "\n".join(unknown)
    assert not mismatches, f"{len(mismatches)} of {checked} cells differ:\n" + "\n".join(mismatches)
    assert checked > 300


def test_the_matrix_sees_every_project_url():
    names = {name for _, name, _ in patterns()}
    assert {name for name, _ in EXPECTED} <= names | {""}
    assert "rating:item" in names and "admin:index" in names


def test_another_experimenter_cannot_take_over_a_name_and_learns_nothing(world, owner):
    """9.2 and 9.3: an upload under the owner's name, with replace, is refused without a word
    about the owner's experiment, and the experiment is untouched."""
    from pathlib import Path

    from evalplat.experiments.models import Experiment

    clients, _ = world
    small = (Path(__file__).parents[1] / "fixtures" / "small.toml").read_text()
    answers = Answer.objects.filter(experiment__slug="small").count()
    form = {"text": small, "design_name": "small.toml", "replace": "1"}
    response = clients["other_experimenter"].post("/console/new/create/", form)
    page = response.content.decode()
    assert response.status_code == 422
    assert "the name &#x27;small&#x27; is taken; choose another name for this design" in page
    assert "answers" not in page.split("is taken")[1][:200] and "exists already" not in page
    experiment = Experiment.objects.get(slug="small")
    assert experiment.owner == owner and Answer.objects.filter(experiment=experiment).count() == answers
    # The owner, by contrast, is told why a replacement is refused.
    response = clients["owner"].post("/console/new/create/", form)
    assert response.status_code == 422 and f"it has {answers} answers" in response.content.decode()
