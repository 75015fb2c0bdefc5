"""Reading and writing the analysis's CSV files fast, with every problem located by file and line.

Reading is vectorised: pandas' C reader parses the file into categorical columns (each distinct
cell text once, plus an integer code per row), so validation and conversion work on the few
distinct values of each column and never on a million Python rows.  The physical line of every
record comes from one numpy pass over the bytes (newlines outside quotes), which also counts
each record's cells, because pandas silently pads a short row.

Rules the reader enforces, each reported as ``FILE:LINE: message``:

- the file is UTF-8 (a byte-order mark is allowed); the first broken byte is named with its
  line and column;
- every record has as many cells as the header, except blank records, which are skipped;
- no cell is longer than MAX_FIELD_CHARS characters.

Cells are stripped of surrounding whitespace.  **Spreadsheet formulas** (OWASP, "CSV
Injection"): a text cell that starts with ``= + - @``, a tab or a carriage return is written with
an apostrophe in front, so a spreadsheet shows it as text; a cell that already starts with
apostrophes followed by one of those characters gets one more.  The reader removes one leading
apostrophe from a cell of that shape, so writing and reading give back the original text.
"""
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_FIELD_CHARS = 131_072
FORMULA_START = "=+-@\t\r"
_NEUTRALISED = re.compile(r"^'+[=+\-@\t\r]")
_NEEDS_APOSTROPHE = re.compile(r"^'*[=+\-@\t\r]")
NEWLINE, QUOTE, COMMA, RETURN = ord("\n"), ord('"'), ord(","), ord("\r")
BOM = b"\xef\xbb\xbf"


class CsvProblems(ValueError):
    """Problems as (line, message) pairs; line 0 means the file as a whole."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(message for _, message in self.problems))


def neutralise(text):
    """A text cell as it is written: formula-looking text gets a leading apostrophe."""
    return "'" + text if _NEEDS_APOSTROPHE.match(text) else text


def restore(text):
    """The inverse of `neutralise` for a cell as read."""
    return text[1:] if _NEUTRALISED.match(text) else text


@dataclass(frozen=True)
class Column:
    """One column: an integer code per row and the distinct (stripped) texts the codes index."""
    codes: np.ndarray
    labels: tuple

    def values(self):
        return np.array(self.labels, dtype=object)[self.codes]


@dataclass(frozen=True)
class CsvTable:
    header: tuple
    lines: np.ndarray        # the physical line each row ends on (1-based; the header is line 1)
    columns: dict            # name -> Column; rows in file order, blank records left out

    def __len__(self):
        return len(self.lines)


def _layout(data):
    """Per record: where it starts and ends in `data`, the physical line it ends on and its cells.

    A newline or comma inside quotes belongs to a cell; quote parity says which are (a quote
    inside a quoted cell is doubled, so the parity is still right)."""
    b = np.frombuffer(data, np.uint8)
    newlines = np.flatnonzero(b == NEWLINE)
    commas = np.flatnonzero(b == COMMA)
    if QUOTE in data:
        quotes = np.flatnonzero(b == QUOTE)
        newlines_outside = newlines[np.searchsorted(quotes, newlines) % 2 == 0]
        commas = commas[np.searchsorted(quotes, commas) % 2 == 0]
    else:
        newlines_outside = newlines
    ends = newlines_outside if data.endswith(b"\n") else np.append(newlines_outside, len(data))
    starts = np.concatenate([[0], ends[:-1] + 1])
    cells = np.diff(np.searchsorted(commas, np.append(starts, len(data)))) + 1
    lines = np.searchsorted(newlines, ends) + 1
    return starts, ends, lines, cells


def _lone_return_line(data):
    """The line of the first carriage return outside quotes that does not end a line with a
    newline (old Mac line endings), or None. The csv module and pandas read such a return as a
    line break and the layout above does not, so it is refused, with its place, not guessed at."""
    if b"\r" not in data:
        return None
    b = np.frombuffer(data, np.uint8)
    returns = np.flatnonzero(b == RETURN)
    returns = returns[(returns + 1 >= len(b)) | (b[np.minimum(returns + 1, len(b) - 1)] != NEWLINE)]
    if QUOTE in data:
        returns = returns[np.searchsorted(np.flatnonzero(b == QUOTE), returns) % 2 == 0]
    return int(data.count(b"\n", 0, returns[0]) + 1) if len(returns) else None


def _decode_problem(data, error):
    """Where the first broken byte is: (line, message naming the column)."""
    line_start = data.rfind(b"\n", 0, error.start) + 1
    line = data.count(b"\n", 0, error.start) + 1
    def text(raw):  # only to find the column: a stray return must not stop the csv module here
        return raw.decode("utf-8", "replace").replace("\r", " ")

    header = next(csv.reader([text(data[:data.find(b"\n") if b"\n" in data else len(data)])]), [])
    before = text(data[line_start:error.start])
    index = len(next(csv.reader([before]), [""])) - 1 if before else 0
    field = header[index].strip() if line > 1 and index < len(header) else f"column {index + 1}"
    return line, (f"{field}: byte 0x{data[error.start]:02x} is not valid UTF-8 (character {error.start - line_start + 1} "
                  f"of the line); save the file as UTF-8")


def _record_text(data, start, end):
    return next(csv.reader([data[start:end].decode("utf-8").rstrip("\r\n")]), [])


def _cells(series, numeric, data, position):
    """(codes, distinct cell texts) of one parsed column.

    pandas infers the type of a categorical's categories, which is lossless for the numbers of a
    numeric column but not for text ("007" and "7" both become 7): a text column whose cells all
    looked like numbers is parsed again as text.
    """
    import pandas as pd

    categories = series.cat.categories
    if pd.api.types.is_string_dtype(categories.dtype) or categories.dtype == object:
        return np.asarray(series.cat.codes, dtype=np.int64), [str(text) for text in categories]
    if numeric:
        return np.asarray(series.cat.codes, dtype=np.int64), [_number_label(value) for value in categories]
    again = pd.read_csv(io.BytesIO(data), usecols=[position], dtype=str, keep_default_na=False, na_filter=False,
                        skip_blank_lines=False, encoding="utf-8").iloc[:, 0]
    codes, texts = pd.factorize(again.to_numpy(), sort=False)
    return np.asarray(codes, dtype=np.int64), [str(text) for text in texts]


def _number_label(value):
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if float(value).is_integer() and not isinstance(value, (float, np.floating)):
        return str(int(value))
    return repr(float(value))


def read_csv(path, numeric=()):
    """Read a CSV file into a `CsvTable`; raises CsvProblems (line, message) on any rule above.

    Columns named in `numeric` hold numbers (or words such as yes/no): their cells may come back
    normalised ("01" as "1"), which text columns never do.
    """
    import pandas as pd

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CsvProblems([(0, f"cannot read: {exc.strerror}")]) from None
    if data.startswith(BOM):
        data = data[len(BOM):]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CsvProblems([_decode_problem(data, error)]) from None
    if not data.strip():
        raise CsvProblems([(1, "the file is empty; expected a header line")])
    lone_return = _lone_return_line(data)
    if lone_return is not None:
        raise CsvProblems([(lone_return, "a carriage return that does not end a line (old Mac line endings?); "
                                         "save the file with Unix (LF) or Windows (CRLF) line endings")])
    starts, ends, lines, cells = _layout(data)
    header = tuple(name.strip() for name in _record_text(data, starts[0], ends[0]))
    problems = []
    if max((len(name) for name in header), default=0) > MAX_FIELD_CHARS:
        problems.append((1, f"a header cell is longer than {MAX_FIELD_CHARS:,} characters"))
    odd = np.flatnonzero(cells[1:] != len(header)) + 1
    blank = []
    for record in odd:
        row = _record_text(data, starts[record], ends[record])
        if any(cell.strip() for cell in row):
            problems.append((int(lines[record]), f"has {len(row)} cells, the header has {len(header)}"))
        else:
            blank.append(record - 1)
    if problems:
        raise CsvProblems(problems)
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype="category", header=0, names=list(range(len(header))),
                            keep_default_na=False, na_filter=False, skip_blank_lines=False, encoding="utf-8")
    except (ValueError, pd.errors.ParserError) as exc:
        raise CsvProblems([(0, f"cannot be read as CSV: {exc}")]) from None
    if len(frame) != len(starts) - 1:
        raise CsvProblems([(0, "cannot be read as CSV: quotes do not pair up")])
    keep = np.ones(len(frame), dtype=bool)
    keep[blank] = False
    raw = {}
    for position, name in enumerate(header):
        codes, texts = _cells(frame[position], name in numeric, data, position)
        too_long = [code for code, text in enumerate(texts) if len(text) > MAX_FIELD_CHARS]
        raw[name] = (codes, [text.strip() for text in texts], too_long)
    # A record whose every cell is blank is skipped, as a blank line is.
    blank_row = np.ones(len(frame), dtype=bool)
    for codes, labels, _ in raw.values():
        blank_row &= np.array([not text for text in labels] or [True])[codes]
    keep &= ~blank_row
    record_lines = lines[1:][keep]
    for name, (codes, labels, too_long) in raw.items():
        rows = np.flatnonzero(np.isin(codes[keep], too_long)) if too_long else []
        problems += [(int(record_lines[r]), f"{name}: longer than {MAX_FIELD_CHARS:,} characters") for r in rows]
    if problems:
        raise CsvProblems(sorted(problems))
    columns = {}
    for name, (codes, labels, _) in raw.items():
        columns[name] = _column(codes[keep], [restore(text) for text in labels])
    return CsvTable(header=tuple(restore(name) for name in header), lines=record_lines, columns=columns)


def _column(codes, labels):
    """Merge labels that became equal once stripped, and number them in order of first appearance
    (the order the database path uses too)."""
    import pandas as pd

    if not labels:
        return Column(codes=codes, labels=())
    distinct, merged = np.unique(np.array(labels, dtype=object), return_inverse=True)
    codes = merged.reshape(-1)[codes]
    order = pd.unique(codes)                  # hash-based, in order of first appearance
    renumber = np.empty(len(distinct), dtype=np.int64)
    renumber[order] = np.arange(len(order))
    return Column(codes=renumber[codes], labels=tuple(str(distinct[i]) for i in order))


def _quoted(text):
    """A cell as csv.QUOTE_MINIMAL writes it."""
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n\r') else text


def write_csv(path, header, columns):
    """Write `Column`s (labels already neutralised where they hold user text) under `header`.

    Each distinct label is quoted once and rows are joined as text: three times faster than
    pandas' writer, which formats every cell."""
    cells = [np.array([_quoted(label) for label in column.labels], dtype=object)[column.codes].tolist()
             for column in columns]
    body = "\n".join(map(",".join, zip(*cells)))
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        handle.write(",".join(_quoted(name) for name in header) + "\n")
        if body:
            handle.write(body + "\n")
