"""The leak check flags answers that quote their prompt or name a model, and the console excludes them."""
import pytest
from django.urls import reverse

from evalplat.generation.models import Answer
from evalplat.rating.leaks import check_experiment, find_leaks, model_names
from evalplat.rating.models import LeakFlag

NAMES = model_names(["Qwen/Qwen2.5-7B-Instruct", "/data/checkpoints/sft-run-1200"])


def kinds(text, system="You are a helpful assistant. Say plainly when you are not sure about something.",
          levels=("Say plainly when you are not sure about something.",)):
    return [kind for kind, _ in find_leaks(text, system_prompt=system, level_texts=levels, names=NAMES)]


def test_a_plain_answer_is_clean():
    assert kinds("Tides come from the Moon's pull on the oceans, and the Sun's, to a lesser degree.") == []


def test_quoting_the_level_text_is_flagged_case_insensitively():
    assert "level-text" in kinds("As I was told: SAY PLAINLY WHEN YOU ARE not sure. The tides...")


def test_quoting_the_system_prompt_is_flagged():
    found = find_leaks("My instructions: you are a helpful assistant. Say plainly when you are unsure.",
                       system_prompt="You are a helpful assistant. Say plainly when you are not sure.",
                       level_texts=[], names=NAMES)
    assert found == [("system-prompt", "you are a helpful assistant say plainly when")]


def test_short_level_texts_are_not_matched_as_common_phrases():
    assert kinds("Be brief, they said.", levels=("Be brief.",)) == []


@pytest.mark.parametrize("text", ["I am Qwen, made by Alibaba.", "As ChatGPT I can't", "trained as llama-3",
                                  "checkpoint sft-run-1200 says hi", "I'm a qwen2.5-7b-instruct model"])
def test_naming_a_model_or_checkpoint_is_flagged(text):
    assert "model-name" in kinds(text)


def test_model_like_words_inside_other_words_are_not_flagged():
    assert kinds("The gptx library and a llamas farm are unrelated; data checkpoints are fine.") == []


@pytest.mark.django_db
def test_the_console_lists_flags_and_excludes_an_answer(client, owner, outsider, rating_experiment):
    leaky = Answer.objects.filter(experiment=rating_experiment, variant__levels__name="hedged").first()
    leaky.text = "Zanzibar-hedge: admit any uncertainty. Also, I am tiny-llama."
    leaky.save()
    assert check_experiment(rating_experiment) == 1
    assert set(LeakFlag.objects.values_list("kind", flat=True)) <= {"level-text", "model-name"}
    client.force_login(outsider)
    url = reverse("console:leaks", args=[rating_experiment.slug])
    assert client.get(url).status_code == 404
    exclude = reverse("console:exclude_answer", args=[rating_experiment.slug, leaky.pk])
    assert client.post(exclude).status_code == 404
    client.force_login(owner)
    page = client.get(url).content.decode()
    assert "Names a model" in page and "Exclude answer" in page
    client.post(url)  # re-running the check replaces the flags instead of adding more
    assert LeakFlag.objects.filter(answer=leaky).count() == 2
    client.post(exclude)
    leaky.refresh_from_db()
    assert leaky.excluded and leaky.exclusion_reason.startswith("leak check:")
