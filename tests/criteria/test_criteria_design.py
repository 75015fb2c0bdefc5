"""`[[rating.criteria]]` and `raters_per_item`: parsed into RatingSettings, each problem named
with file, line and field, and stored on an experiment and read back typed."""
import pytest

from designs.spec import IMPLICIT_CRITERION, Criterion, DesignError, RatingSettings, parse_design
from tests.criteria.designs import THREE_CRITERIA, small_with

RATING_TABLE = """[rating]
scale = "5-point"
both_bad = true
rationale = "optional"
per_rater = 10
overlap = 0.2
gold_rate = 0.1
"""


def problems(text):
    with pytest.raises(DesignError) as caught:
        parse_design(text, "d.toml")
    return [str(problem) for problem in caught.value.problems]


def test_criteria_are_read_in_order_with_their_scales_and_weights():
    design = parse_design(small_with(THREE_CRITERIA), "d.toml")
    assert design.rating.criteria == (
        Criterion("honesty", "Which response is more honest?", "5-point", 2.0),
        Criterion("warmth", "Which response is warmer?", "3-way", 1.0),
        Criterion("clarity", "Which response is clearer?", "2-way", 0.5),
    )
    assert design.rating.asked(design.question) == design.rating.criteria
    assert design.question == ("Which response is more honest? / Which response is warmer? / "
                               "Which response is clearer?")


def test_a_design_without_criteria_asks_its_question_as_one_implicit_criterion():
    design = parse_design(small_with(""), "d.toml")
    assert design.rating.criteria == ()
    assert design.rating.asked(design.question) == (
        Criterion(IMPLICIT_CRITERION, "Which response is better?", "5-point", 1.0),)
    assert design.rating.raters_per_item == 2


def test_criteria_survive_the_round_trip_through_the_experiments_json():
    rating = parse_design(small_with(THREE_CRITERIA, rating_extra="raters_per_item = 3\n"), "d.toml").rating
    assert RatingSettings.from_dict(rating.as_dict()) == rating
    # An experiment stored before criteria existed reads back as one implicit criterion.
    old = {key: value for key, value in rating.as_dict().items() if key not in ("criteria", "raters_per_item")}
    assert RatingSettings.from_dict(old).criteria == () and RatingSettings.from_dict(old).raters_per_item == 2


CASES = [
    ('[[rating.criteria]]\nname = "Honesty"\nquestion = "Q?"\n',
     ["d.toml:28: rating.criteria[1].name: 'Honesty' is not a valid criterion name (lowercase letters, digits, "
      "'_' and '-', starting with a letter, at most 63)"]),
    ('[[rating.criteria]]\nname = "a"\nquestion = "Q?"\n[[rating.criteria]]\nname = "a"\nquestion = "R?"\n',
     ["d.toml:31: rating.criteria[2].name: duplicate criterion name 'a' (first defined as criterion 1)"]),
    ('[[rating.criteria]]\nname = "a"\n',
     ["d.toml:27: rating.criteria[1]: missing required field 'question'"]),
    ('[[rating.criteria]]\nquestion = "Q?"\n',
     ["d.toml:27: rating.criteria[1]: missing required field 'name'"]),
    ('[[rating.criteria]]\nname = "a"\nquestion = "  "\n',
     ["d.toml:29: rating.criteria[1].question: must not be empty"]),
    ('[[rating.criteria]]\nname = "a"\nquestion = "Q?"\nscale = "7-point"\n',
     ["d.toml:30: rating.criteria[1].scale: '7-point': expected one of 2-way, 3-way, 5-point"]),
    ('[[rating.criteria]]\nname = "a"\nquestion = "Q?"\nweight = -1\n',
     ["d.toml:30: rating.criteria[1].weight: -1.0 is too small: at least 0"]),
    ('[[rating.criteria]]\nname = "a"\nquestion = "Q?"\nweight = "heavy"\n',
     ["d.toml:30: rating.criteria[1].weight: expected a number, got 'heavy' (a string)"]),
    ('[[rating.criteria]]\nname = "a"\nquestion = "Q?"\nweight = 0\n',
     ["d.toml:27: rating.criteria: every weight is 0; at least one criterion must count in the combination"]),
    ('[[rating.criteria]]\nname = "a"\nquestion = "Q?"\ncolour = "red"\n',
     ["d.toml:30: rating.criteria[1].colour: unknown field (expected name, question, scale, weight)"]),
    ('[[rating.criteria]]\nname = "a"\nquestion = "' + "q" * 2001 + '"\n',
     ["d.toml:29: rating.criteria[1].question: 2,001 characters; at most 2,000 are allowed"]),
    ("".join(f'[[rating.criteria]]\nname = "c{i}"\nquestion = "Q?"\n' for i in range(9)),
     ["d.toml:27: rating.criteria: 9 criteria; at most 8 are allowed"]),
]


@pytest.mark.parametrize("criteria,expected", CASES)
def test_each_malformed_criterion_is_named_with_its_line_and_field(criteria, expected):
    assert problems(small_with(criteria)) == expected


def test_criteria_and_a_top_level_question_together_are_refused():
    text = small_with(THREE_CRITERIA).replace('title = "Small test experiment"\n',
                                              'title = "Small test experiment"\nquestion = "Which is better?"\n')
    assert problems(text) == ["d.toml:6: question: give either question (one question) or [[rating.criteria]] "
                              "(a question per criterion), not both"]


def test_criteria_that_are_not_tables_are_refused():
    assert problems(small_with("", rating_extra='criteria = "honesty"\n')) == [
        "d.toml:27: rating.criteria: expected a list of tables, got 'honesty' (a string)"]
    assert problems(small_with("", rating_extra="criteria = []\n")) == [
        "d.toml:27: rating.criteria: at least one criterion is needed (leave it out to ask `question`)"]


@pytest.mark.parametrize("value,expected", [
    ("1", "d.toml:27: rating.raters_per_item: 1 is too small: at least 2"),
    ("21", "d.toml:27: rating.raters_per_item: 21 is too large: at most 20"),
    ('"three"', "d.toml:27: rating.raters_per_item: expected a whole number, got 'three' (a string)"),
])
def test_raters_per_item_must_be_a_whole_number_from_2(value, expected):
    assert problems(small_with("", rating_extra=f"raters_per_item = {value}\n")) == [expected]


def test_raters_per_item_is_read():
    assert parse_design(small_with("", rating_extra="raters_per_item = 4\n"), "d.toml").rating.raters_per_item == 4


def test_a_follow_up_design_of_a_criteria_experiment_keeps_its_criteria():
    from evalplat.distill.followup_designs import Arm, design_text

    rating = parse_design(small_with(THREE_CRITERIA, rating_extra="raters_per_item = 3\n"), "d.toml").rating
    text = design_text(name="follow", title="Follow", question="Which is better?", comment="a follow-up",
                       system="{system}", user="{query}", generation=parse_design(small_with(""), "d.toml").generation,
                       rating=rating, arms=[Arm("base", {"system": ""}, {}, ""), Arm("other", {"system": "S"}, {}, "")],
                       queries=[("q1", "Hi?", "")])
    assert parse_design(text, "follow.toml").rating == rating
