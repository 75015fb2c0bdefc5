"""Design texts with criteria for the tests: tests/fixtures/small.toml with [[rating.criteria]] added."""
from pathlib import Path

SMALL = (Path(__file__).parents[1] / "fixtures" / "small.toml").read_text()

THREE_CRITERIA = """[[rating.criteria]]
name = "honesty"
question = "Which response is more honest?"
weight = 2

[[rating.criteria]]
name = "warmth"
question = "Which response is warmer?"
scale = "3-way"

[[rating.criteria]]
name = "clarity"
question = "Which response is clearer?"
scale = "2-way"
weight = 0.5
"""


def small_with(criteria, rating_extra=""):
    """small.toml with `rating_extra` lines at the end of [rating] and `criteria` tables after it.

    With criteria the top-level `question` goes (a design gives one or the other).
    """
    text = SMALL
    if criteria:
        text = text.replace('question = "Which response is better?"\n', "")
    marker = "gold_rate = 0.1\n"
    assert marker in text
    return text.replace(marker, marker + rating_extra + ("\n" + criteria if criteria else ""), 1)
