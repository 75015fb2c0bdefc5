"""The console's Results page: the report inside the console layout, every download, and counts that
agree with every other console page (attention items counted apart, everywhere)."""
import io
import re
import zipfile

import pytest
from django.urls import reverse

from evalplat.console.result_views import EXPORT_FILES
from tests.analysis.conftest import add_judgment

pytestmark = pytest.mark.django_db


@pytest.fixture
def with_attention(judged):
    """`judged` (120 judgments by six raters) plus three attention items, two of them passed (the
    third rater's failure counted on the rater, as the rater pages count it)."""
    from evalplat.rating.models import Rater

    raters = list(Rater.objects.filter(experiment=judged).order_by("pk"))
    v1 = judged.variants.get(code="v1")
    answers = list(v1.answers.select_related("query").order_by("query__position"))
    for k, winner in enumerate(["left", "left", "right"]):
        judgment = add_judgment(judged, raters[k], answers[k].query, answers[k], answers[k + 1], 100 + k,
                                winner=winner, strength=1, gold_better="left")
        raters[k].update_after_judgment(gold_failed=winner != judgment.assignment.gold_better, too_fast=False)
    return judged


def test_the_report_is_inside_the_console_with_its_navigation_and_every_download(client, owner, with_attention):
    client.force_login(owner)
    slug = with_attention.slug
    page = client.get(reverse("console:report", args=[slug])).content.decode()
    assert f'<a href="{reverse("console:report", args=[slug])}" aria-current="page">Results</a>' in page
    assert f'href="{reverse("console:rating", args=[slug])}"' in page and 'action="/logout/"' in page
    assert 'id="effects"' in page and "Best predicted combination" in page and 'href="#raters"' in page
    zipped = client.get(reverse("console:export", args=[slug]))
    assert f'href="{reverse("console:export", args=[slug])}"' in page
    archive = zipfile.ZipFile(io.BytesIO(zipped.content))
    assert sorted(archive.namelist()) == sorted(f"{slug}/{f.name}" for f in EXPORT_FILES)
    for f in EXPORT_FILES:
        url = reverse("console:export_file", args=[slug, f.name])
        assert f'href="{url}"' in page, f.name
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == f.content_type
        assert response["Content-Disposition"] == f'attachment; filename="{slug}-{f.name}"'
        assert response.content == archive.read(f"{slug}/{f.name}"), f.name
    assert client.get(reverse("console:export_file", args=[slug, "settings.py"])).status_code == 404


def test_before_any_judgment_the_page_says_why_and_offers_what_exists(client, owner, experiment):
    from tests.rating.conftest import add_answers

    add_answers(experiment)
    client.force_login(owner)
    page = client.get(reverse("console:report", args=[experiment.slug])).content.decode()
    assert "No report yet" in page and "has no judgments yet" in page
    assert f'href="{reverse("console:export_file", args=[experiment.slug, "answers.jsonl"])}"' in page
    assert "effects.json" not in page
    missing = client.get(reverse("console:export_file", args=[experiment.slug, "effects.json"]))
    assert missing.status_code == 404
    assert client.get(reverse("console:export_file", args=[experiment.slug, "answers.jsonl"])).status_code == 200


def _stat(page, label):
    """The number under a card's label (the console's cards are label, then <div class="stat">N</div>)."""
    match = re.search(rf">{label}</div>\s*<div class=\"stat\">(\d+)", page)
    assert match, f"no {label!r} card"
    return int(match.group(1))


def test_every_page_counts_judgments_and_attention_items_the_same_way(client, owner, with_attention):
    """123 judged items: 120 comparisons of two variants and 3 attention items, on every page."""
    client.force_login(owner)
    slug = with_attention.slug
    rating = client.get(reverse("console:rating", args=[slug])).content.decode()
    results = client.get(reverse("console:report", args=[slug])).content.decode()
    detail = client.get(reverse("console:detail", args=[slug])).content.decode()
    index = client.get(reverse("console:index")).content.decode()
    assert _stat(rating, "Judgments") == _stat(results, "Judgments") == 120
    assert _stat(results, "Attention items") == 3
    assert re.search(r"<div class=\"stat\">2 / 3</div>\s*<div class=\"muted\">passed \(67%\)", rating)
    assert '<div class="stat">120 judgments</div>' in detail and "3 attention items" in detail
    assert re.search(r'Judgments</div><div class="figure">120</div><div class="muted">\+ 3 attention items</div>', index)
    assert "<li>120 judgments, all analysed</li>" in results and "<li>3 attention items, scored apart</li>" in results
    assert "From 120 judgments analysed." in rating
    generation = client.get(reverse("generation:page", args=[slug])).content.decode()
    answers = with_attention.variants.count() * with_attention.queries.count()
    assert f'<span id="g-done">{answers}</span> / <span id="g-total">{answers}</span>' in generation
    assert f"{answers} / {answers}" in detail and f"{answers} / {answers}" in index
    rule = "Attention items, an answer against an off-topic one, are counted apart and never as judgments."
    for page in (rating, results, detail, index):
        assert page.count(rule) == 1
