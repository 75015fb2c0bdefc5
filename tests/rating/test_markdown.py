"""Answers render as Markdown structure with nothing active left in them."""
from html.parser import HTMLParser

import pytest

from designs import limits
from evalplat.rating.markdown import render_markdown

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    "[click](javascript:alert(1))",
    "<svg onload=alert(1)>",
    '<iframe src="https://example.com"></iframe>',
    "<style>body{display:none}</style>",
    '<div style="background:url(https://tracker.example/p.png)">x</div>',
]


def test_structure_survives():
    html = render_markdown("# Title\n\n- one\n- **two**\n\n3. three\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n\n"
                           "```python\nif x < 1:\n    pass\n```\n\n> quoted\n\n`inline` and ~~gone~~")
    for tag in ("<h1>", "<ul>", "<li>", "<strong>", '<ol start="3">', "<table>", "<td>", "<pre><code>",
                "if x &lt; 1:", "<blockquote>", "<code>inline</code>", "<s>gone</s>"):
        assert tag in html


class Elements(HTMLParser):
    def __init__(self, html):
        super().__init__()
        self.found = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_raw_html_is_shown_as_text_never_as_markup(payload):
    html = render_markdown(f"Before {payload} after")
    assert Elements(html).found == [("p", [])]


def test_links_keep_their_text_but_lose_their_target():
    html = render_markdown("See [the docs](https://example.com/track?id=1) or <https://example.org>.")
    assert "the docs" in html and "https://example.org" in html
    assert "<a" not in html and "example.com/track" not in html


def test_images_are_not_loaded():
    html = render_markdown("![a diagram](https://tracker.example/pixel.png)")
    assert "[image: a diagram]" in html and "tracker.example" not in html and "<img" not in html


# --- size and depth (issue 9.10) ----------------------------------------------------------

def visible_text(html):
    """What a reader sees: the HTML with its tags removed and entities decoded."""
    import html as html_module
    import re

    return html_module.unescape(re.sub(r"<[^>]+>", "", html))


@pytest.mark.parametrize("text,words", [
    (">" * 40 + " deeply quoted words\n", ["deeply quoted words"]),
    ("".join("  " * i + f"- item {i}\n" for i in range(30)), [f"item {i}" for i in range(30)]),
    ("*" * 30 + "starred" + "*" * 30, ["starred"]),
    ("> " * 20 + "| a | b |\n" + "> " * 20 + "|---|---|\n" + "> " * 20 + "| cell | two |\n", ["cell", "two"]),
])
def test_content_nested_deeper_than_the_limit_is_shown_not_dropped(text, words):
    html = render_markdown(text)
    shown = visible_text(html)
    assert all(word in shown for word in words), shown[-300:]
    assert html.count("<blockquote>") <= limits.MARKDOWN_NESTING and html.count("<ul>") <= limits.MARKDOWN_NESTING


def test_what_is_too_deep_is_shown_as_its_markdown_source():
    html = render_markdown("".join("  " * i + f"- level {i}\n" for i in range(12)))
    assert '<pre class="markdown-source">- level 8' in html


def test_text_beyond_the_limit_is_shown_as_plain_text_after_the_rendered_part():
    text = "**bold** start. " + "x" * limits.MARKDOWN + " **the end**"
    html = render_markdown(text)
    assert html.startswith("<p><strong>bold</strong>") and html.endswith("x **the end**</p>")
    assert '<p class="markdown-rest">' in html


@pytest.mark.parametrize("unit", ["[", "*a **b ", "[a](", "| x | y |\n", "*_", "a`", ">", "<div><span>"])
def test_pathological_markdown_at_the_limit_renders_in_well_under_a_second(unit):
    import time

    text = (("| a | b |\n|---|---|\n" if unit.startswith("|") else "") + unit * limits.MARKDOWN)[:limits.MARKDOWN]
    started = time.perf_counter()
    render_markdown(text)
    # markdown-it-py took 4-10 s on each of the first five; now the worst (">", a hundred
    # thousand nested quotes) takes about 1 s on a busy 2-core machine. The bound leaves room.
    assert time.perf_counter() - started < 5.0


def test_unpaired_surrogates_and_nul_do_not_break_rendering():
    assert "x" in render_markdown("x\ud800\x00y")


def test_short_texts_are_rendered_once_and_long_ones_every_time_alike():
    from evalplat.rating import markdown

    short = "A **short** answer, as most are: " + "word " * 50
    assert render_markdown(short) is render_markdown(short)  # kept, not rendered again
    assert render_markdown(short) == markdown._render(short)
    long = "x" * (markdown.CACHED_CHARS + 1)
    kept = markdown._render_cached.cache_info().currsize
    assert render_markdown(long) == markdown._render(long) == f"<p>{long}</p>\n"
    assert markdown._render_cached.cache_info().currsize == kept  # not kept: memory stays bounded
    assert render_markdown("") == render_markdown(None) == ""
