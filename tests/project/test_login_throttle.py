"""Login throttling (django-axes) covers every login view: the console's, the admin's and Django's LoginView.

Before it, 100 wrong passwords in a row were each simply answered "wrong password".
"""
import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.project.login_urls")]
LOGIN_VIEWS = ["/login/", "/admin/login/", "/plain-login/"]  # the console's, the admin's, a plain LoginView


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("staff", "s@example.com", "right-password-1", is_staff=True)


def attempt(client, url, password, username="staff", address="203.0.113.7"):
    return client.post(url, {"username": username, "password": password, "next": "/console/"},
                       REMOTE_ADDR=address)


@pytest.mark.parametrize("url", LOGIN_VIEWS)
def test_the_right_password_still_works_below_the_limit(client, staff, url):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, url, "wrong").status_code == 200
    response = attempt(client, url, "right-password-1")
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()  # a success resets the count


@pytest.mark.parametrize("url", LOGIN_VIEWS)
def test_after_the_limit_even_the_right_password_gets_the_lockout_page(client, staff, url):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, url, "wrong")
    response = attempt(client, url, "right-password-1")
    page = response.content.decode()
    assert response.status_code == 429
    assert "Too many failed logins" in page and "Try again after 0:15:00" in page
    assert "_auth_user_id" not in client.session


def test_the_lock_is_per_username_and_address(client, staff, django_user_model):
    django_user_model.objects.create_user("other", "o@example.com", "other-password-1")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "/admin/login/", "wrong")
    assert attempt(Client(), "/plain-login/", "right-password-1", address="198.51.100.2").status_code == 302
    assert attempt(Client(), "/plain-login/", "other-password-1", username="other").status_code == 302
    # The lock holds across login views: it lives in the authentication backend, not in a view.
    assert attempt(Client(), "/plain-login/", "right-password-1").status_code == 429


def test_logins_without_a_request_are_not_throttled(staff):
    from django.contrib.auth import authenticate

    assert authenticate(username="staff", password="right-password-1") == staff
    assert Client().login(username="staff", password="right-password-1")
