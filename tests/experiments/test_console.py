import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_console_needs_a_login(client):
    response = client.get(reverse("console:index"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_owner_sees_the_experiment(client, owner, experiment):
    client.force_login(owner)
    assert experiment.title in client.get(reverse("console:index")).content.decode()
    page = client.get(reverse("console:detail", args=[experiment.slug])).content.decode()
    assert "Zanzibar-hedge" in page and "v8" in page


def test_an_outsider_gets_a_404_and_no_listing(client, outsider, experiment):
    client.force_login(outsider)
    assert experiment.title not in client.get(reverse("console:index")).content.decode()
    assert client.get(reverse("console:detail", args=[experiment.slug])).status_code == 404


def test_the_report_page_says_why_there_is_no_report_yet(client, owner, experiment):
    client.force_login(owner)
    page = client.get(reverse("console:report", args=[experiment.slug])).content.decode()
    assert "No report yet" in page and "has no judgments yet" in page


def test_an_outsider_cannot_read_the_report_or_download(client, outsider, experiment):
    client.force_login(outsider)
    assert client.get(reverse("console:report", args=[experiment.slug])).status_code == 404
    assert client.get(reverse("console:export", args=[experiment.slug])).status_code == 404


def test_the_console_logs_in_through_its_own_page(client, owner):
    page = client.get(reverse("login")).content.decode()
    assert "Log in to the console" in page and "Django administration" not in page
    response = client.post(reverse("login"), {"username": "owner", "password": "owner-password-1",
                                              "next": reverse("console:index")})
    assert response.status_code == 302 and response["Location"] == reverse("console:index")
    wrong = Client().post(reverse("login"), {"username": "owner", "password": "wrong"})
    assert wrong.status_code == 200 and "Please enter a correct username and password" in wrong.content.decode()


def test_logging_out_is_a_button_in_the_layout_that_posts(client, owner):
    client.force_login(owner)
    page = client.get(reverse("console:index")).content.decode()
    assert f'<form method="post" action="{reverse("logout")}">' in page and "Log out" in page
    assert client.get(reverse("logout")).status_code == 405       # a link cannot log anyone out
    assert "_auth_user_id" in client.session
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session
