import pytest
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
    page = client.get(reverse("analysis:report", args=[experiment.slug])).content.decode()
    assert "No report yet" in page and "has no judgments yet" in page


def test_an_outsider_cannot_read_the_report_or_download(client, outsider, experiment):
    client.force_login(outsider)
    assert client.get(reverse("analysis:report", args=[experiment.slug])).status_code == 404
    assert client.get(reverse("analysis:download", args=[experiment.slug])).status_code == 404
