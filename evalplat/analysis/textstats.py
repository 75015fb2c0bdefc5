"""Answer length and markdown structure, the covariates of the length/style diagnostic."""
import pyromark

# The same parser the rater pages render with (pulldown-cmark, linear time), so what is counted
# is what raters saw.
STRUCTURE = {"Heading", "Item", "Table", "CodeBlock", "BlockQuote"}
OPTIONS = pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH


def _started(event):
    """The element an event starts, or None: {'Start': 'Item'} or {'Start': {'Heading': {...}}}."""
    if not isinstance(event, dict) or "Start" not in event:
        return None
    tag = event["Start"]
    return tag if isinstance(tag, str) else next(iter(tag))


def markup_count(text):
    """Headings, list items, tables, code blocks, quotes and rules in a Markdown text."""
    count = 0
    for event in pyromark.events(text or "", options=OPTIONS):
        count += event == "Rule" or _started(event) in STRUCTURE
    return count
