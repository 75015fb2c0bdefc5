"""The documented limits on what users put in (README "Security"), and the checks for text.

Each limit is enforced where the input arrives (the design file, a queries or answers JSONL,
the Markdown renderer), with a message naming the place. They keep every value inside what
the database columns hold and bound the work one file can cause: parsing, `plan`, and
rendering an answer on every item view. Django-free, so that every app (all downstream of
`designs`) reads the same numbers.
"""
from __future__ import annotations

import math
import re

# --- files ---------------------------------------------------------------------------------
DESIGN_FILE_BYTES = 1_000_000          # a design file (TOML); a file it names: designs.files
ANSWERS_FILE_BYTES = 200_000_000       # an answers (replay) JSONL
NESTING = 32                           # arrays/tables/objects inside each other (TOML, JSON)

# --- a design's size -----------------------------------------------------------------------
FACTORS = 32
LEVELS = 16                            # per factor
QUERIES = 10_000
SAMPLES = 100                          # generation.samples
CRITERIA = 8                           # [[rating.criteria]]: rows of choices on one rater page
RATERS_PER_ITEM = 20                   # rating.raters_per_item

# --- text, in characters (the database column where there is one) --------------------------
NAME = 63                              # experiment name (slug), factor and level names
TITLE = 300                            # Experiment.title
QUERY_ID = 100                         # Query.key
CATEGORY = 100                         # Query.category
MODEL = 500                            # generation.model and model levels (Answer.model)
QUESTION = 2_000                       # the question raters answer
TEMPLATE = 100_000                     # prompt.system, prompt.user
LEVEL_TEXT = 20_000                    # a text factor's level
MARKDOWN = 100_000                     # Markdown shown to raters: a query, the instructions, an answer
MARKDOWN_NESTING = 16                  # elements inside each other; deeper parts are shown as source
FINISH_REASON = 30                     # Answer.finish_reason

# --- numbers ---------------------------------------------------------------------------------
INT32 = 2**31 - 1                      # integer columns: token counts, latency, sizes
SEED = 2**63 - 1                       # generation.seed
LOGPROB_TOKENS = 100_000               # token log-probabilities stored per answer
LOGPROB_TOP = 20                       # alternatives per token (generation.logprobs at most)
TOKEN = 1_000                          # characters of one token string
WEIGHT = 1_000                         # a criterion's weight in the combination

# Characters PostgreSQL cannot store in text (NUL) and strings that are not Unicode text
# (unpaired surrogates, which JSON's \ud800 escapes can produce and no encoder accepts).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_at(value: str) -> int | None:
    """The index of the first character no database can store as text, or None."""
    bad = _UNSTORABLE.search(value)
    return None if bad is None else bad.start()


def unstorable_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text (a NUL, an unpaired surrogate), or None."""
    position = unstorable_at(value)
    if position is None:
        return None
    character = value[position]
    what = "a NUL character (\\u0000)" if character == "\x00" else \
        f"an unpaired surrogate (\\u{ord(character):04x}), which is not Unicode text"
    return f"contains {what} at character {position + 1}; remove it"


def length_problem(value: str, limit: int) -> str | None:
    """Why `value` is longer than `limit` characters, or None."""
    if len(value) > limit:
        return f"{len(value):,} characters; at most {limit:,} are allowed"
    return None


def text_problem(value: str, limit: int | None = None) -> str | None:
    """Why `value` cannot be stored as text of at most `limit` characters, or None.

    Parameters
    ----------
    value : str
        The text as parsed from the user's file.
    limit : int, optional
        The most characters allowed; None for no length limit.

    Returns
    -------
    str or None
        A message for `FILE:LINE: FIELD: message`, or None when the text is fine.
    """
    return unstorable_problem(value) or (length_problem(value, limit) if limit is not None else None)


def number_problem(value: int | float, low: float, high: float) -> str | None:
    """Why a number from a file is out of range (or not finite), or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value!r} is not a finite number"
    if value > high:
        return f"{value!r} is too large: at most {high:,}"
    if value < low:
        return f"{value!r} is too small: at least {low:,}"
    return None


def nesting_depth(value, limit: int = NESTING) -> int:
    """How deep lists and dicts nest in `value` (parsed TOML or JSON), counting at most to
    `limit` + 1; iterative, so a deep value cannot exhaust Python's stack here."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, (list, dict)):
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def strings_in(value, path=()):
    """Every (path, string) in parsed TOML or JSON, keys included (a key's path ends with it).
    Callers check the depth first, so this recursion is bounded by NESTING."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, child in value.items():
            yield path + (key,), key
            yield from strings_in(child, path + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from strings_in(child, path + (index,))
