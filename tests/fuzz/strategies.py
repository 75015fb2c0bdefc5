"""Inputs for the fuzz tests: random text and bytes, hostile values, and near-valid files
(a valid file with one line or field mutated), so that the search reaches past the first check."""
import json

from hypothesis import strategies as st

# Every code point, surrogates and NUL included (st.text() leaves surrogates out by default).
ANY_CHARACTER = st.characters(codec=None, categories=None)
any_text = st.text(ANY_CHARACTER, max_size=200)
HOSTILE_STRINGS = st.one_of(
    any_text,
    st.sampled_from(["", " ", "\x00", "a\x00b", "\ud800", "{", "}", "{query}", "{x.y}", "{0}", "\\", '"', "'''",
                     "\n", "\r\n", "[[", "]]", "#", "=", "=HYPERLINK(\"http://evil\")", "<script>", "\u202e"]),
    st.integers(1, 6).map(lambda n: "x" * 10 ** n),
)
HOSTILE_NUMBERS = st.one_of(
    st.integers(), st.sampled_from([0, -1, 2**31 - 1, 2**31, -(2**31), 2**63, 2**64, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
)


def nested(depth):
    return "[" * depth + "]" * depth


def toml_value():
    """A TOML value literal, from plausible to hostile."""
    strings = HOSTILE_STRINGS.map(lambda s: json.dumps(s, ensure_ascii=True))
    numbers = HOSTILE_NUMBERS.map(repr)  # TOML writes nan and inf as Python does
    special = st.sampled_from(["true", "false", "nan", "-inf", "+inf", "1979-05-27T07:32:00Z", "[]", "{}",
                               '"""\nmulti\n"""', "'literal'", '["a", 1]', '{a = 1}', "0x1F", "1_000",
                               "9" * 5000, "[" * 50 + "]" * 50, "{a = " * 40 + "1" + "}" * 40])
    deep = st.integers(1, 3000).map(nested)
    return st.one_of(strings, numbers, special, deep)


def json_value():
    """A JSON value, as text: plausible, hostile, or malformed."""
    plain = st.recursive(
        st.one_of(st.none(), st.booleans(), HOSTILE_NUMBERS, HOSTILE_STRINGS),
        lambda children: st.one_of(st.lists(children, max_size=3),
                                   st.dictionaries(HOSTILE_STRINGS, children, max_size=3)),
        max_leaves=8,
    ).map(lambda v: json.dumps(v))
    special = st.sampled_from(["NaN", "-Infinity", "1e999", "9" * 5000, '"\\ud800"', '"\\u0000"', "[" * 5000,
                               "[" * 40 + "]" * 40, "{", '"unterminated', ""])
    return st.one_of(plain, special)


@st.composite
def mutated_lines(draw, lines, value=None):
    """`lines` with one or two edits: a value replaced, a line deleted, duplicated or inserted."""
    value = value or toml_value()
    lines = list(lines)
    for _ in range(draw(st.integers(1, 2))):
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["value", "value", "value", "delete", "duplicate", "insert", "key"]))
        line = lines[index]
        if action == "value" and "=" in line:
            lines[index] = line.split("=", 1)[0] + "= " + draw(value)
        elif action == "delete":
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, line)
        elif action == "insert":
            lines.insert(index, draw(st.one_of(any_text.map(lambda t: t.replace("\n", " ")),
                                               value.map(lambda v: f"extra = {v}"))))
        elif action == "key" and "=" in line:
            lines[index] = draw(HOSTILE_STRINGS).replace("\n", " ") + " =" + line.split("=", 1)[1]
        if not lines:
            lines = [""]
    return lines
