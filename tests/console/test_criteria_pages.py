"""The console with a design of several criteria: an item is one judgment however many answers it
holds, the interim look is per criterion, and the Results page shows the criteria's page, each
criterion's report and each criterion's report file."""
import io
import re
import zipfile

import pytest
from django.urls import reverse

from evalplat.rating.models import Assignment, Judgment
from tests.criteria.conftest import criteria_experiment  # noqa: F401 (a fixture)
from tests.criteria.test_criteria_exports import judged_criteria  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db
CRITERIA = ("honesty", "warmth", "clarity")


def test_items_are_counted_once_and_each_criterion_gets_its_interim_look(client, owner, judged_criteria):
    client.force_login(owner)
    slug = judged_criteria.slug
    items = Assignment.objects.filter(experiment=judged_criteria, status=Assignment.Status.JUDGED, is_gold=False)
    assert Judgment.objects.filter(assignment__in=items).count() == 3 * items.count()
    rating = client.get(reverse("console:rating", args=[slug])).content.decode()
    results = client.get(reverse("console:report", args=[slug])).content.decode()
    for page in (rating, results):
        assert re.search(rf">Judgments</div>\s*<div class=\"stat\">{items.count()}<", page)
    for number, name in enumerate(CRITERIA, start=1):
        assert f"<h3>Criterion: {name}</h3>" in rating
        assert f'href="{reverse("console:report", args=[slug])}?criterion={number}">The full report' in rating


def test_the_results_page_shows_the_criteria_and_each_criterions_report_and_file(client, owner, judged_criteria):
    client.force_login(owner)
    slug = judged_criteria.slug
    url = reverse("console:report", args=[slug])
    overview = client.get(url).content.decode()
    assert "Effects on each criterion, and combined" in overview and 'aria-current="page">All criteria' in overview
    warmth = client.get(url, {"criterion": "2"}).content.decode()
    assert "Effects of each factor" in warmth and "Raters were asked: “Which response is warmer?”" in warmth
    assert 'href="?criterion=2" aria-current="page">warmth' in warmth
    archive = zipfile.ZipFile(io.BytesIO(client.get(reverse("console:export", args=[slug])).content))
    for number, name in enumerate(CRITERIA, start=1):
        file = f"report-{number}-{name}.html"
        link = reverse("console:export_file", args=[slug, file])
        assert f'href="{link}"' in overview
        assert client.get(link).content == archive.read(f"{slug}/{file}")
