"""The console's answer browser: answers by variant and query, filtered and paginated, with the
leak-check flags and the exclude switch; model output shown escaped, as sanitised Markdown."""
import re

import pytest
from django.urls import reverse

from evalplat.console.generation_views import ANSWERS_PER_PAGE
from evalplat.generation.models import Answer
from evalplat.rating import leaks
from tests.rating.conftest import add_answers, open_for_rating

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(experiment):
    add_answers(experiment)
    return experiment


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def browse(client, experiment, **filters):
    response = client.get(reverse("generation:answers", args=[experiment.slug]), filters)
    assert response.status_code == 200
    return response.content.decode()


def leaky_answer(experiment):
    """One answer that names a model and quotes its level text; the leak check flags it."""
    answer = Answer.objects.filter(experiment=experiment, variant__levels__name="hedged").order_by("pk").first()
    Answer.objects.filter(pk=answer.pk).update(text="As Qwen I say: Zanzibar-hedge: admit any uncertainty.")
    assert leaks.check_experiment(experiment) == 1
    return answer


def test_it_pages_through_every_answer(owner_client, answered):
    first = browse(owner_client, answered)
    assert "32 answers; page 1 of 2." in first
    assert first.count('class="card answer"') == ANSWERS_PER_PAGE
    second = browse(owner_client, answered, page=2)
    assert second.count('class="card answer"') == 32 - ANSWERS_PER_PAGE


def test_it_filters_by_variant_and_query_and_keeps_the_filters_in_the_pager(owner_client, answered):
    page = browse(owner_client, answered, variant="v2", query="sky")
    assert "1 answer." in page and "v2 · sky" in page
    assert browse(owner_client, answered, query="sky").count('class="card answer"') == 8
    page = browse(owner_client, answered, query="sky", page=1, variant="")
    assert "8 answers." in page
    # An unknown value counts as no filter rather than an error.
    assert "32 answers" in browse(owner_client, answered, variant="v99")


def test_the_pager_links_carry_the_filters(owner_client, answered):
    page = browse(owner_client, answered, status="done")
    assert 'href="?status=done&amp;page=2"' in page


def test_it_shows_the_leak_flags_and_filters_on_them(owner_client, answered):
    leaky = leaky_answer(answered)
    page = browse(owner_client, answered, leak="flagged")
    assert "1 answer." in page and f"{leaky.variant.code} · {leaky.query.key}" in page
    assert "Names a model" in page and "Quotes a level text" in page and "leak flag" in page
    assert "31 answers" in browse(owner_client, answered, leak="clean")


def test_model_output_is_rendered_as_sanitised_markdown(owner_client, answered):
    answer = Answer.objects.filter(experiment=answered).order_by("pk").first()
    Answer.objects.filter(pk=answer.pk).update(
        text="**bold** <script>alert('x')</script> [a link](https://evil.example/) <img src=x onerror=alert(1)>")
    page = browse(owner_client, answered, variant=answer.variant.code, query=answer.query.key)
    assert "<strong>bold</strong>" in page
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert 'href="https://evil.example/"' not in page and "<img" not in page


def test_the_exclude_switch_uses_the_leak_reasons_and_returns_to_the_same_view(owner_client, answered):
    leaky = leaky_answer(answered)
    back = reverse("generation:answers", args=[answered.slug]) + "?leak=flagged"
    response = owner_client.post(reverse("generation:exclude", args=[answered.slug, leaky.pk]),
                                 {"action": "exclude", "back": back})
    assert response.status_code == 302 and response["Location"] == back
    leaky.refresh_from_db()
    assert leaky.excluded and leaky.exclusion_reason == "leak check: quotes a level text; names a model"
    assert not Answer.objects.filter(experiment=answered, excluded=True).exclude(pk=leaky.pk).exists()
    page = browse(owner_client, answered, status="excluded")
    assert "1 answer." in page and "Include again" in page
    owner_client.post(reverse("generation:exclude", args=[answered.slug, leaky.pk]), {"action": "include"})
    leaky.refresh_from_db()
    assert not leaky.excluded and leaky.exclusion_reason == ""


def test_an_answer_without_flags_is_excluded_with_a_plain_reason(owner_client, answered):
    answer = Answer.objects.filter(experiment=answered).first()
    owner_client.post(reverse("generation:exclude", args=[answered.slug, answer.pk]), {"action": "exclude"})
    answer.refresh_from_db()
    assert answer.excluded and answer.exclusion_reason == "excluded by the experimenter"


def test_once_rating_opens_an_excluded_answer_stays_out(owner_client, answered):
    answer = Answer.objects.filter(experiment=answered).first()
    open_for_rating(answered)
    owner_client.post(reverse("generation:exclude", args=[answered.slug, answer.pk]), {"action": "exclude"})
    page = owner_client.post(reverse("generation:exclude", args=[answered.slug, answer.pk]),
                             {"action": "include"}, follow=True).content.decode()
    assert "rating has opened" in page and "Include again" not in page
    answer.refresh_from_db()
    assert answer.excluded


def test_a_redirect_elsewhere_is_not_followed(owner_client, answered):
    answer = Answer.objects.filter(experiment=answered).first()
    response = owner_client.post(reverse("generation:exclude", args=[answered.slug, answer.pk]),
                                 {"action": "exclude", "back": "https://evil.example/"})
    assert response["Location"] == reverse("generation:answers", args=[answered.slug])


def test_another_experimenter_cannot_see_or_exclude_answers(client, outsider, answered):
    client.force_login(outsider)
    answer = Answer.objects.filter(experiment=answered).first()
    assert client.get(reverse("generation:answers", args=[answered.slug])).status_code == 404
    assert client.post(reverse("generation:exclude", args=[answered.slug, answer.pk]),
                       {"action": "exclude"}).status_code == 404
    answer.refresh_from_db()
    assert not answer.excluded


def test_the_console_csp_covers_the_pages_and_the_generation_script(owner_client, answered):
    response = owner_client.get(reverse("generation:answers", args=[answered.slug]))
    assert "default-src 'none'" in response["Content-Security-Policy"] and "<script" not in response.content.decode()
    response = owner_client.get(reverse("generation:page", args=[answered.slug]))
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert f'<script nonce="{nonce}">' in response.content.decode()
