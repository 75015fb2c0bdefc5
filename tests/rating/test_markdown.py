"""Answers render as Markdown structure with nothing active left in them."""
from html.parser import HTMLParser

import pytest

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
