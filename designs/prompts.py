"""Prompt composition: a variant's levels plus a query give chat messages and settings.

Text factors fill `{placeholders}` in the [prompt] templates; setting factors
override `generation.*` (including `generation.model` and `generation.adapter`, so
checkpoints and adapters are compared like any other factor); an arm factor's level
does several of these at once.
"""
import re
from dataclasses import dataclass, field

from designs.spec import QUERY_PLACEHOLDER, GenerationSettings

# An empty level ("" = leave the instruction out) must not leave a double space
# or a blank line behind: the prompt a rater's answer came from should read as
# if written by hand, and stray whitespace would differ between variants.
_SPACES = re.compile(r"[ \t]{2,}")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class Prompt:
    messages: list = field(default_factory=list)
    settings: GenerationSettings = field(default_factory=GenerationSettings)

    @property
    def system(self):
        return next((m["content"] for m in self.messages if m["role"] == "system"), "")


def tidy(text):
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def fill(template, values):
    """str.format with only {name} placeholders (checked when the design was parsed)."""
    return template.format_map(values)


def compose(system_template, user_template, generation, factors, levels, query_text):
    """Build the prompt for one (variant, query).

    Parameters
    ----------
    system_template, user_template : str
        The design's [prompt] templates.
    generation : designs.spec.GenerationSettings
        The design's [generation] settings.
    factors : sequence of designs.spec.Factor
    levels : mapping
        Factor name -> level name for this variant.
    query_text : str
    """
    texts = {QUERY_PLACEHOLDER: query_text}
    settings = generation
    for factor in factors:
        level = factor.level(levels[factor.name])
        if factor.is_setting:
            settings = settings.with_setting(factor.setting, level.value)
        elif factor.is_arm:
            texts.update(level.value["text"])
            for key, value in level.value["generation"].items():
                settings = settings.with_setting(key, value)
        else:
            texts[factor.name] = level.value
    system = tidy(fill(system_template, texts))
    # The user turn is not tidied: it holds the query, whose spacing (code, poems) is the user's own.
    user = fill(user_template, texts)
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
    return Prompt(messages=messages, settings=settings)


def compose_for_design(design, levels, query):
    return compose(design.system_template, design.user_template, design.generation, design.factors, levels, query.text)
