"""Model output as safe HTML: Markdown structure kept, everything active removed.

Answers are untrusted text, rendered on every item view, so the renderer must be safe and its
worst case fast. pulldown-cmark (Rust, through pyromark) parses CommonMark plus tables and
strikethrough in linear time; markdown-it-py, used before, took 3-7 s on 100 kB of brackets,
emphasis delimiters or table rows, and silently dropped everything nested deeper than 20
elements. Its events are turned into HTML here, because the rendering is where the rules are:

- raw HTML is shown as text, never passed on as markup;
- links render as their text and images as their alt text, because a live link or an image
  URL would make the rater's browser fetch something an answer chose (tracking, or a hint
  about who wrote it);
- an element nested deeper than limits.MARKDOWN_NESTING is shown as its Markdown source, in
  full, instead of being dropped (raters must see everything the answer says);
- text beyond limits.MARKDOWN characters (imports refuse such answers; this is the backstop
  for anything that arrives another way) is shown as plain text after the rendered part.

nh3 then keeps only a small set of structural tags with no attributes, as a second line of
defence.
"""
from functools import lru_cache
from html import escape

import nh3
import pyromark
from django.utils.safestring import mark_safe

from designs import limits

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td", "span",
}
ALLOWED_ATTRIBUTES = {"ol": {"start"}}
ALLOWED_CLASSES = {"span": {"inert-image"}, "pre": {"markdown-source"}, "p": {"markdown-rest"}}
OPTIONS = pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH

# Elements whose content is inline (inside a paragraph): one nested too deeply is shown as
# inline source text; any other as a <pre> block.
INLINE = {"Emphasis", "Strong", "Strikethrough", "Link", "Image"}
BREAKS = {"SoftBreak": "\n", "HardBreak": "<br>\n", "Rule": "<hr>\n"}
SIMPLE_TAGS = {
    "Paragraph": "p", "BlockQuote": "blockquote", "Item": "li", "TableRow": "tr",
    "Emphasis": "em", "Strong": "strong", "Strikethrough": "s",
}


# Texts up to CACHED_CHARS long are rendered once per process and kept (the CACHED_TEXTS used
# last): an item page shows a query and two answers that other raters' pages showed a moment ago,
# and rendering them was 3% of a rater request's CPU under load. At worst a few tens of MB.
CACHED_TEXTS = 1024
CACHED_CHARS = 8000


def render_markdown(text: str) -> str:
    """Sanitised HTML for untrusted Markdown (answers, queries and instructions)."""
    text = text or ""
    return _render_cached(text) if len(text) <= CACHED_CHARS else _render(text)


def _render(text):
    text = text.encode("utf-8", "replace").decode("utf-8")  # no unpaired surrogates
    rendered, rest = text[:limits.MARKDOWN], text[limits.MARKDOWN:]
    try:
        html = _Renderer(rendered).render(with_source=False)
    except _TooDeep:
        html = _Renderer(rendered).render(with_source=True)
    if rest:
        html += f'<p class="markdown-rest">{escape(rest, quote=False)}</p>'
    cleaned = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=set(),
                        link_rel=None, allowed_classes=ALLOWED_CLASSES)
    return mark_safe(cleaned)


_render_cached = lru_cache(maxsize=CACHED_TEXTS)(_render)


class _TooDeep(Exception):
    pass


class _Renderer:
    """pyromark's event stream → HTML, one pass, no recursion (nesting is a stack)."""

    def __init__(self, text):
        self.text = text
        self.source = text.encode("utf-8")
        self.out = []
        self.closing = []  # the end tag of each open element, innermost last

    def render(self, with_source):
        """The HTML; without `with_source` (three times faster: no source ranges) it raises
        _TooDeep at the first element nested too deeply, to be rendered again with them."""
        # merge_text: a run of text is one event, not one per delimiter that did not match.
        if with_source:
            events = pyromark.events_with_range(self.text, options=OPTIONS, merge_text=True)
        else:
            events = ((event, None) for event in pyromark.events(self.text, options=OPTIONS, merge_text=True))
        out, closing = self.out, self.closing
        for event, span in events:
            if event.__class__ is not dict:
                out.append(BREAKS[event])
                continue
            (kind, payload), = event.items()
            if kind == "Text":
                out.append(escape(payload, quote=False))
            elif kind == "End":
                out.append(closing.pop())
            elif kind == "Start":
                if len(closing) >= limits.MARKDOWN_NESTING:
                    if not with_source:
                        raise _TooDeep
                    self.show_source(payload, span, events)
                elif payload == "Image" or (payload.__class__ is dict and "Image" in payload):
                    self.image(events)
                else:
                    self.start(payload)
            elif kind == "Code":
                out.append(f"<code>{escape(payload, quote=False)}</code>")
            else:  # Html, InlineHtml and anything else that carries text: shown as text
                out.append(escape(str(payload), quote=False))
        return "".join(out)

    def start(self, tag):
        name = _name(tag)
        if name in SIMPLE_TAGS:
            html = SIMPLE_TAGS[name]
            self.open(f"<{html}>", f"</{html}>\n" if name in ("Paragraph", "Item", "TableRow") else f"</{html}>")
        elif name == "Heading":
            level = tag["Heading"]["level"][1]
            self.open(f"<h{level}>", f"</h{level}>\n")
        elif name == "List":
            start = tag["List"]
            if start is None:
                self.open("<ul>\n", "</ul>\n")
            else:
                self.open(f'<ol start="{int(start)}">\n' if start != 1 else "<ol>\n", "</ol>\n")
        elif name == "CodeBlock":
            self.open("<pre><code>", "</code></pre>\n")
        elif name == "HtmlBlock":
            self.open("<p>", "</p>\n")  # raw HTML, shown as the text it is
        elif name == "Table":
            self.open("<table>\n", "</tbody></table>\n")
        elif name == "TableHead":
            self.open("<thead><tr>", "</tr></thead><tbody>\n")
        elif name == "TableCell":
            cell = "th" if self.closing[-1].startswith("</tr></thead>") else "td"
            self.open(f"<{cell}>", f"</{cell}>")
        else:  # a link, or an element of an extension that is not enabled: keep its content
            self.open("", "")

    def open(self, html, closing):
        self.out.append(html)
        self.closing.append(closing)

    def image(self, events):
        """An image as its alt text: nothing is loaded from the URL an answer chose."""
        alt = [str(next(iter(event.values()))) for event in _inside(events)
               if isinstance(event, dict) and "Start" not in event and "End" not in event]
        text = escape("".join(alt), quote=False)
        self.out.append(f'<span class="inert-image">[image: {text}]</span>' if text else
                        '<span class="inert-image">[image]</span>')

    def show_source(self, tag, span, events):
        """An element nested too deeply: its Markdown source as text, then skip its events."""
        source = escape(self.source[span["start"]:span["end"]].decode("utf-8", "replace"), quote=False)
        inline = _name(tag) in INLINE
        self.out.append(source if inline else f'<pre class="markdown-source">{source}</pre>\n')
        for _ in _inside(events):
            pass


def _inside(events):
    """The events inside the element just started, consumed up to and including its own End."""
    depth = 1
    for event, _ in events:
        if isinstance(event, dict) and "Start" in event:
            depth += 1
        elif isinstance(event, dict) and "End" in event:
            depth -= 1
            if depth == 0:
                return
        yield event


def _name(tag):
    return tag if isinstance(tag, str) else next(iter(tag))
