"""Fuzzing the rater pages' Markdown renderer: any text renders, and nothing active survives."""
from hypothesis import given
from hypothesis import strategies as st

from evalplat.rating.markdown import render_markdown
from tests.fuzz.strategies import ANY_CHARACTER

MARKUP = st.sampled_from(["*", "_", "**", "`", "```\n", "[", "](", ")", "!", "<", ">", "> ", "- ", "1. ", "|",
                          "|---|", "\n", "\n\n", "    ", "#", "~~", "<script>", "<img src=x onerror=1>",
                          "javascript:", "&amp;", "&#0;", "\\"])


@given(st.lists(st.one_of(MARKUP, st.text(ANY_CHARACTER, max_size=8)), max_size=80).map("".join))
def test_any_markdown_renders_to_inert_html(text):
    html = render_markdown(text)
    lowered = html.lower()
    assert "<script" not in lowered and "<img" not in lowered and "<a " not in lowered
    assert " on" not in lowered.split(">")[0] or "<" not in lowered.split(">")[0]
