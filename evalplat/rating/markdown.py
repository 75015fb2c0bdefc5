"""Model output as safe HTML: Markdown structure kept, everything active removed.

Answers are untrusted text. markdown-it renders them with raw HTML escaped;
links render as their text and images as their alt text, because a live link
or an image URL would make the rater's browser fetch something an answer chose
(tracking, or a hint about who wrote it). nh3 then keeps only a small set of
structural tags with no attributes, as a second line of defence.
"""
import nh3
from django.utils.safestring import mark_safe
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td", "span",
}
ALLOWED_ATTRIBUTES = {"ol": {"start"}}


def _drop(self, tokens, idx, options, env):
    return ""


def _image_as_text(self, tokens, idx, options, env):
    alt = self.renderInline(tokens[idx].children or [], options, env)
    return f'<span class="inert-image">[image: {alt}]</span>' if alt else '<span class="inert-image">[image]</span>'


def _parser():
    md = MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")
    md.add_render_rule("link_open", _drop)
    md.add_render_rule("link_close", _drop)
    md.add_render_rule("image", _image_as_text)
    return md


PARSER = _parser()


def render_markdown(text: str) -> str:
    """Sanitised HTML for untrusted Markdown (answers, and instructions for good measure)."""
    html = PARSER.render(text or "")
    cleaned = nh3.clean(
        html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=set(), link_rel=None,
        allowed_classes={"span": {"inert-image"}},
    )
    return mark_safe(cleaned)
