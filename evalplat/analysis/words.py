"""Numbers in words for the report's sentences ("1 rater", "2 raters")."""


def plural(count, singular, plural_form=None):
    """`count` and the noun in the number that agrees with it."""
    noun = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {noun}"
