"""Long lists come a page at a time: the experiments list and an experiment's queries."""
import pytest
from django.urls import reverse

from evalplat.experiments.models import Experiment, Query

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def test_an_experiments_queries_are_listed_fifty_at_a_time_in_design_order(owner_client, experiment):
    Query.objects.bulk_create([Query(experiment=experiment, key=f"extra-{i:03d}", text=f"extra query {i}",
                                     position=1000 + i) for i in range(120)])
    total = experiment.queries.count()
    pages = -(-total // 50)
    url = reverse("console:detail", args=[experiment.slug])
    first = owner_client.get(url).content.decode()
    last = owner_client.get(url, {"page": pages}).content.decode()
    assert f"{total} queries; page 1 of {pages}" in first
    assert first.count("extra-") == 50 - (total - 120) and "extra-000" in first
    assert "extra-119" in last and "extra-119" not in first
    assert owner_client.get(url, {"page": "not a number"}).content.decode().count("extra-") == first.count("extra-")


def test_the_experiments_list_pages_by_twenty_five(owner_client, owner, experiment):
    Experiment.objects.bulk_create([
        Experiment(owner=owner, slug=f"copy-{i:02d}", title=f"Copy {i}", question="q", design_text="",
                   array_name=experiment.array_name, user_template="{query}") for i in range(30)])
    first = owner_client.get(reverse("console:index")).content.decode()
    second = owner_client.get(reverse("console:index"), {"page": 2}).content.decode()
    assert first.count('class="title"') == 25 and second.count('class="title"') == 6
    assert "Page 1 of 2" in first and "Page 2 of 2" in second
