"""Find the line of a field in TOML text, for error messages.

tomllib returns plain dicts with no positions, so this scans the text for
table headers and `key = value` lines and records where each field path
starts. It understands what design files use (tables, arrays of tables,
sub-tables of the latest array entry, inline tables and multi-line strings)
and falls back to the nearest enclosing table when a path is not found.
"""
import re

# Written so that no line can make them backtrack more than linearly: a design file is user
# input, and "[" followed by a few thousand spaces once took minutes to scan.
HEADER = re.compile(r"^\s*(\[\[?)([^\]]*)\]\]?\s*(#.*)?$")
KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*=\s*(.*)$""")
STRING_VALUE = re.compile(r"""^\s*("([^"\\]|\\.)*"|'[^']*')""")
# A key inside an inline table; the look-behind keeps finditer from rescanning a long word
# from each of its letters.
INLINE_KEY = re.compile(r"""("[^"]*"|'[^']*'|(?<![A-Za-z0-9_-])[A-Za-z0-9_-]+)\s*=""")


class TomlLocator:
    def __init__(self, text):
        self.lines = {}  # field path tuple -> 1-based line
        self.values = {}  # field path tuple -> raw value text
        self._scan(text)

    def _scan(self, text):
        array_index = {}
        table = ()
        in_multiline = None
        for number, line in enumerate(text.splitlines(), start=1):
            if in_multiline:
                if line.count(in_multiline) % 2 == 1:
                    in_multiline = None
                continue
            header = HEADER.match(line)
            if header and header.group(2).strip() and not KEY.match(line):
                parts = [_unquote(p.strip()) for p in header.group(2).strip().split(".")]
                if header.group(1) == "[[":
                    name = tuple(parts)
                    array_index[name] = array_index.get(name, -1) + 1
                    table = name + (array_index[name],)
                else:
                    table = self._resolve(parts, array_index)
                self.lines.setdefault(table, number)
                continue
            key = KEY.match(line)
            if not key:
                continue
            path = table + (_unquote(key.group(1)),)
            self.lines.setdefault(path, number)
            value = key.group(2)
            self.values[path] = value
            for quote in ('"""', "'''"):
                if value.count(quote) % 2 == 1:
                    in_multiline = quote
            if value.lstrip().startswith("{"):
                for inner in INLINE_KEY.finditer(value):
                    self.lines.setdefault(path + (_unquote(inner.group(1)),), number)

    @staticmethod
    def _resolve(parts, array_index):
        """[factors.levels] belongs to the latest [[factors]] entry."""
        path = ()
        for part in parts:
            path += (part,)
            if path in array_index:
                path += (array_index[path],)
        return path

    def line_of(self, path):
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None

    def nested_key_line(self, key):
        """The line of `key = ...` written inside some table (a misplaced top-level field), if any."""
        lines = [line for path, line in self.lines.items() if len(path) > 1 and path[-1] == key]
        return min(lines) if lines else None

    def line_of_factor(self, name):
        """The line of the [[factors]] entry whose name is `name`."""
        for path, raw in self.values.items():
            if len(path) == 3 and path[0] == "factors" and path[2] == "name":
                match = STRING_VALUE.match(raw)
                if match and _unquote(match.group(1)) == name:
                    return self.lines.get(path[:2], self.lines[path])
        return None


def _unquote(token):
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'":
        return token[1:-1]
    return token


def deep_nesting_line(text, limit):
    """The line where brackets and braces first nest deeper than `limit` (outside strings and
    comments), for the message about TOML too deep to parse; None if they never do."""
    depth, line, quote, comment, escaped = 0, 1, None, False, False
    for character in text:
        if character == "\n":
            line, comment = line + 1, False
            if quote in ('"', "'"):
                quote = None  # a one-line string left open: TOML reports that itself
            continue
        if comment:
            continue
        if quote:
            if escaped:
                escaped = False
            elif character == "\\" and quote == '"':
                escaped = True
            elif character == quote:
                quote = None
        elif character in "\"'":
            quote = character
        elif character == "#":
            comment = True
        elif character in "[{":
            depth += 1
            if depth > limit:
                return line
        elif character in "]}":
            depth = max(depth - 1, 0)
    return None
