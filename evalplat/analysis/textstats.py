"""Answer length and markdown structure, the covariates of the length/style diagnostic."""
from markdown_it import MarkdownIt

STRUCTURE_TOKENS = {"heading_open", "list_item_open", "table_open", "fence", "code_block", "blockquote_open", "hr"}
_PARSER = MarkdownIt("commonmark").enable("table")


def markup_count(text):
    """Headings, list items, tables, code blocks, quotes and rules in a Markdown text."""
    return sum(1 for token in _PARSER.parse(text or "") if token.type in STRUCTURE_TOKENS)
