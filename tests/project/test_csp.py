"""One Content-Security-Policy for every page (django-csp), tighter on rater pages."""
import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def directives(response):
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split("; ")}


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def test_console_pages_and_the_report_send_the_strict_policy(owner_client, experiment):
    for url in (reverse("console:index"), reverse("console:detail", args=[experiment.slug]),
                reverse("console:report", args=[experiment.slug]), "/admin/login/"):
        response = owner_client.get(url)
        policy = directives(response)
        assert policy["default-src"] == ["'none'"], url
        assert policy["script-src"][0] == "'self'" and "'unsafe-inline'" not in policy["script-src"], url
        assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"], url
        assert policy["form-action"] == ["'self'"], url


def test_a_nonce_is_sent_only_with_a_page_that_uses_it_and_is_fresh_each_time(owner_client):
    first, second = (owner_client.get(reverse("design:new")) for _ in range(2))
    nonce = re.search(r"'nonce-([^']+)'", first["Content-Security-Policy"]).group(1)
    assert f'nonce="{nonce}"' in first.content.decode()
    assert nonce not in second["Content-Security-Policy"]
    assert "'nonce-" not in owner_client.get(reverse("console:index"))["Content-Security-Policy"]


def test_rater_pages_load_nothing_and_connect_nowhere(client, experiment):
    from evalplat.rating.models import Invite

    invite = Invite.objects.create(experiment=experiment, label="t")
    response = client.get(reverse("rating:start", args=[invite.token]), follow=True)
    policy = directives(response)
    assert policy["default-src"] == ["'none'"] and policy["connect-src"] == ["'none'"]
    assert "img-src" not in policy and policy["script-src"][0].startswith("'nonce-")
    assert policy["style-src"] == ["'unsafe-inline'"]


def test_the_rater_policy_built_once_is_the_one_django_csp_builds_with_a_fresh_nonce_each_response(client, experiment):
    from csp import constants as csp
    from csp.utils import build_policy

    from evalplat.rating.models import Invite

    invite = Invite.objects.create(experiment=experiment, label="t")
    first, second = (client.get(reverse("rating:start", args=[invite.token])) for _ in range(2))  # "not open"
    nonces = [re.search(r"'nonce-([^']+)'", r["Content-Security-Policy"]).group(1) for r in (first, second)]
    assert nonces[0] != nonces[1]
    expected = build_policy(replace={
        "script-src": [csp.NONCE], "style-src": [csp.UNSAFE_INLINE], "img-src": None,
        "connect-src": [csp.NONE], "form-action": [csp.SELF]}, nonce=nonces[1])
    assert directives(second) == {part.split()[0]: part.split()[1:] for part in expected.split("; ")}
    assert second.headers.get("Content-Security-Policy-Report-Only") is None
