"""Answers that would break blinding: ones that quote their prompt or name a model.

A rater who reads "As instructed, I'll admit uncertainty" or "As Qwen, I…" in a
response learns something about its variant. Before rating opens every answer
is checked, case-insensitively, for
- a run of words from its own system prompt (SYSTEM_PROMPT_WORDS long),
- a run of words from one of its variant's level texts (LEVEL_TEXT_WORDS long,
  or the whole text when it is shorter but at least MIN_LEVEL_WORDS),
- a model or checkpoint name: the components of the model ids and paths the
  experiment uses, and the common model family names.
The experimenter reads the flags and excludes what really leaks. Each run is logged
(rating.LeakCheck): rating opens only after a run that saw the answers as they are now
(evalplat/rating/opening.py).
"""
import re

from django.db import transaction

from evalplat.generation.models import Answer
from evalplat.rating.models import LeakFlag
from evalplat.rating.opening import record_run

SYSTEM_PROMPT_WORDS = 8
LEVEL_TEXT_WORDS = 5
MIN_LEVEL_WORDS = 3
WORD = re.compile(r"[a-z0-9]+(?:['.][a-z0-9]+)*")
MODEL_FAMILIES = (
    "chatgpt", "gpt-4", "gpt-4o", "gpt-3.5", "gpt", "openai", "llama", "qwen", "mistral", "mixtral",
    "gemma", "gemini", "claude", "anthropic", "deepseek", "vicuna", "alpaca", "olmo", "smollm", "tinyllama",
)


def words(text):
    return WORD.findall(text.lower())


def ngrams(tokens, n):
    return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


def quoted_run(answer_words, source_text, n, min_words):
    """The first run of `n` words of `source_text` found in the answer, or '' (shorter texts: all of it)."""
    source = words(source_text)
    if len(source) < min_words:
        return ""
    size = min(n, len(source))
    found = ngrams(answer_words, size) & ngrams(source, size)
    if not found:
        return ""
    # Report the earliest match in the source, so the evidence reads naturally.
    for i in range(len(source) - size + 1):
        if tuple(source[i:i + size]) in found:
            return " ".join(source[i:i + size])
    return ""


def model_names(model_ids):
    """Names a response could use to give away its model: id components plus family names."""
    names = set(MODEL_FAMILIES)
    for model_id in model_ids:
        parts = [p for p in re.split(r"[/\\]", model_id.strip().lower()) if p]
        if model_id.strip().startswith((".", "/", "~")):
            parts = parts[-1:]  # a local path: only the checkpoint's own name is telling
        names.update(p for p in parts if len(p) >= 3)
    return sorted(names, key=len, reverse=True)


def named_model(answer_text, names):
    lowered = answer_text.lower()
    for name in names:
        match = re.search(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", lowered)
        if match:
            return answer_text[match.start():match.end()]
    return ""


def find_leaks(answer_text, *, system_prompt, level_texts, names):
    """[(LeakFlag.Kind, evidence)] for one answer."""
    answer_words = words(answer_text)
    flags = []
    quoted = quoted_run(answer_words, system_prompt, SYSTEM_PROMPT_WORDS, SYSTEM_PROMPT_WORDS)
    if quoted:
        flags.append((LeakFlag.Kind.SYSTEM_PROMPT, quoted))
    for text in level_texts:
        quoted = quoted_run(answer_words, text, LEVEL_TEXT_WORDS, MIN_LEVEL_WORDS)
        if quoted:
            flags.append((LeakFlag.Kind.LEVEL_TEXT, quoted))
    name = named_model(answer_text, names)
    if name:
        flags.append((LeakFlag.Kind.MODEL_NAME, name))
    return flags


def level_texts_by_variant(experiment):
    texts = {}
    for variant in experiment.variants.prefetch_related("levels__factor"):
        texts[variant.pk] = [
            level.value for level in variant.levels.all()
            if not level.factor.target and isinstance(level.value, str) and level.value.strip()
        ]
    return texts


def model_ids(experiment):
    ids = {experiment.generation_settings.model}
    for factor in experiment.factors.filter(target="generation.model").prefetch_related("levels"):
        ids.update(str(level.value) for level in factor.levels.all())
    ids.update(experiment.answers.values_list("model", flat=True).distinct())
    return sorted(i for i in ids if i)


def exclude_answer(answer):
    """Keep `answer` from raters, recording its leak flags as the reason; returns whether it
    was shown until now."""
    kinds = "; ".join(flag.get_kind_display().lower() for flag in answer.leak_flags.all())
    return answer.exclude(f"leak check: {kinds}" if kinds else "excluded by the experimenter")


@transaction.atomic
def check_experiment(experiment, by=None):
    """Recompute the leak flags of every finished answer and log the run (`by`: who asked, if a
    console user); returns how many answers were flagged."""
    LeakFlag.objects.filter(answer__experiment=experiment).delete()
    texts = level_texts_by_variant(experiment)
    names = model_names(model_ids(experiment))
    flags = []
    answers = Answer.objects.filter(experiment=experiment, status=Answer.Status.DONE)
    for answer in answers.only("pk", "variant_id", "text", "messages"):
        system = next((m.get("content", "") for m in answer.messages or [] if m.get("role") == "system"), "")
        for kind, evidence in find_leaks(answer.text, system_prompt=system,
                                         level_texts=texts.get(answer.variant_id, []), names=names):
            flags.append(LeakFlag(answer=answer, kind=kind, evidence=evidence[:300]))
    LeakFlag.objects.bulk_create(flags)
    flagged = len({flag.answer_id for flag in flags})
    record_run(experiment, flagged=flagged, by=by)
    return flagged
