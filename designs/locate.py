"""Find the line of a field in TOML text, for error messages.

tomllib returns plain dicts with no positions, so this scans the text for
table headers and `key = value` lines and records where each field path
starts. It understands what design files use (tables, arrays of tables,
sub-tables of the latest array entry, inline tables and multi-line strings)
and falls back to the nearest enclosing table when a path is not found.
"""
import re

HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*=\s*(.*)$""")
STRING_VALUE = re.compile(r"""^\s*("([^"\\]|\\.)*"|'[^']*')""")


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
            if header and not KEY.match(line):
                parts = [_unquote(p.strip()) for p in header.group(2).split(".")]
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
                for inner in re.finditer(r"""("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*=""", value):
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
