"""The two input tables of an analysis (variants and judgments) as arrays, and their CSV form.

variants.csv: ``variant,<factor 1>,...,<factor k>``; cells are level names, and the level a
factor has in the first row is its baseline.  judgments.csv: ``query,left,right,winner`` plus
the optional columns below.  Both the CSV reader and ``data.py`` (the database path) build the
same `VariantTable` / `Judgments`, so everything downstream is indifferent to where data came from.
How the files are parsed, the limits, and the rule against spreadsheet formulas are in `csvfile`.

Optional judgment columns (all may be blank on any line):

=============  ==========================================================================
strength       1 (better) or 2 (much better); only with winner left/right
rater          any rater label; judgments of one rater form a cluster
category       the query's category (effects by category use it)
both_bad       1/0, true/false or yes/no: the rater said both answers are bad
gold           left or right: an attention item whose better side is known; gold items
               are scored for accuracy and left out of the effect estimates (an attention
               item may show the same variant on both sides)
left_chars     length of the left answer in characters (length/style diagnostic)
right_chars    length of the right answer in characters
left_markup    number of markdown structure elements (headings, list items, tables, code
               blocks) in the left answer
right_markup   the same for the right answer
criterion      the design's criterion the line answers ([[rating.criteria]] name); one
               item asked about several criteria is one line per criterion. Blank (or no
               column) is the design's one question; a file that names criteria names one
               on every line
too_fast       1/0, true/false or yes/no: the rater was flagged for answering faster than
               anyone can read (the rating pages' RATING_FAST_* rule); every judgment of a
               flagged rater is set aside, like a failed attention rule. Blank/no column: no
=============  ==========================================================================
"""
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from designs.spec import IMPLICIT_CRITERION
from designs.tables import write_variants_csv

from .csvfile import Column, CsvProblems, neutralise, read_csv, write_csv

WINNERS = {"left": 1, "right": -1, "tie": 0}
WINNER_NAMES = {1: "left", -1: "right", 0: "tie"}
REQUIRED_JUDGMENT_COLUMNS = ("query", "left", "right", "winner")
OPTIONAL_JUDGMENT_COLUMNS = (
    "strength", "rater", "category", "both_bad", "gold",
    "left_chars", "right_chars", "left_markup", "right_markup", "criterion", "too_fast",
)
NUMERIC_JUDGMENT_COLUMNS = ("strength", "both_bad", "left_chars", "right_chars", "left_markup", "right_markup")
TRUE_WORDS = {"1", "true", "yes", "y"}
FALSE_WORDS = {"0", "false", "no", "n", ""}
MAX_REPORTED_PROBLEMS = 20


class TableError(ValueError):
    """Malformed input table; ``problems`` lists (file, line, message) triples."""

    def __init__(self, problems):
        self.problems = list(problems)
        shown = [f"{file}:{line}: {message}" if line else f"{file}: {message}"
                 for file, line, message in self.problems[:MAX_REPORTED_PROBLEMS]]
        more = len(self.problems) - len(shown)
        if more > 0:
            shown.append(f"... and {more} more problems")
        super().__init__("\n".join(shown))


def treatment_dummies(runs, levels):
    """Indicator of each non-baseline level, factor by factor: runs x (sum of levels - 1)."""
    columns = [runs[:, f] == level for f, n in enumerate(levels) for level in range(1, n)]
    return np.array(columns, dtype=float).T.reshape(len(runs), -1)


@dataclass(frozen=True)
class VariantTable:
    ids: tuple          # variant ids, e.g. ("v1", "v2", ...)
    factors: tuple      # factor names
    levels: tuple       # per factor, its level names, baseline first
    runs: np.ndarray    # n_variants x n_factors level indices

    @property
    def n_levels(self):
        return [len(names) for names in self.levels]

    def effect_labels(self):
        """(factor, level) for each treatment-coded column, in column order."""
        return [(factor, level) for factor, names in zip(self.factors, self.levels) for level in names[1:]]

    def dummies(self):
        """Treatment-coded indicator rows: variant x (sum over factors of levels - 1)."""
        return treatment_dummies(self.runs, self.n_levels)

    def factor_columns(self):
        """For each factor, the slice of dummy columns that belong to it."""
        slices, start = [], 0
        for names in self.levels:
            slices.append(slice(start, start + len(names) - 1))
            start += len(names) - 1
        return slices

    def level_names(self, variant):
        return {factor: self.levels[f][self.runs[variant, f]] for f, factor in enumerate(self.factors)}


@dataclass(frozen=True)
class Judgments:
    left: np.ndarray        # variant index of the left answer
    right: np.ndarray       # variant index of the right answer
    winner: np.ndarray      # +1 left, 0 tie, -1 right
    strength: np.ndarray    # 0 not given, 1 better, 2 much better
    query: np.ndarray       # index into queries
    queries: tuple
    rater: np.ndarray       # index into raters, -1 when unknown
    raters: tuple
    category: np.ndarray    # index into categories, -1 when unknown
    categories: tuple
    both_bad: np.ndarray    # bool
    gold: np.ndarray        # +1 left is known better, -1 right, 0 not a gold item
    left_chars: np.ndarray  # float, nan when unknown
    right_chars: np.ndarray
    left_markup: np.ndarray
    right_markup: np.ndarray
    criterion: np.ndarray   # index into criteria
    criteria: tuple = (IMPLICIT_CRITERION,)  # names in first-seen order; ("",) for a design's one question
    too_fast: np.ndarray = None  # bool: the judgment's rater was flagged too fast (rating's rule)

    def __len__(self):
        return len(self.left)

    def subset(self, mask):
        """The judgments selected by a boolean mask or index array (labels are kept)."""
        changes = {f.name: getattr(self, f.name)[mask] for f in fields(self)
                   if isinstance(getattr(self, f.name), np.ndarray)}
        return replace(self, **changes)

    @property
    def has_criteria(self):
        """Whether the judgments answer named criteria (not a design's one question)."""
        return self.criteria != (IMPLICIT_CRITERION,)

    def for_criterion(self, name):
        """The judgments that answer one criterion, labelled as a design's one question."""
        chosen = self.subset(self.criterion == self.criteria.index(name))
        return replace(chosen, criterion=np.zeros(len(chosen), dtype=np.int64), criteria=(IMPLICIT_CRITERION,))

    @property
    def has_raters(self):
        return bool(np.any(self.rater >= 0))

    @property
    def has_lengths(self):
        return bool(np.all(np.isfinite(self.left_chars)) and np.all(np.isfinite(self.right_chars))) and len(self) > 0

    @property
    def has_markup(self):
        return bool(np.all(np.isfinite(self.left_markup)) and np.all(np.isfinite(self.right_markup))) and len(self) > 0


def _codes(values, missing=""):
    """Integer codes for labels in first-seen order; `missing` maps to -1."""
    names, index, codes = [], {}, []
    for value in values:
        if value == missing:
            codes.append(-1)
            continue
        if value not in index:
            index[value] = len(names)
            names.append(value)
        codes.append(index[value])
    return np.array(codes, dtype=np.int64), tuple(names)


def judgments_from_arrays(left, right, winner, strength=None, query=None, rater=None, *,
                          queries=None, raters=(), category=None, categories=(), both_bad=None,
                          gold=None, left_chars=None, right_chars=None, left_markup=None, right_markup=None,
                          criterion=None, criteria=(IMPLICIT_CRITERION,), too_fast=None):
    """Judgments from arrays (simulations, benchmarks); absent columns get their 'unknown' value
    (no criterion: a design's one question)."""
    n = len(left)

    def ints(values, default, dtype=np.int64):
        return np.full(n, default, dtype=dtype) if values is None else np.asarray(values, dtype=dtype).reshape(n)

    def floats(values):
        return np.full(n, np.nan) if values is None else np.asarray(values, dtype=float).reshape(n)

    query = ints(query, 0)
    return Judgments(
        left=ints(left, 0), right=ints(right, 0), winner=ints(winner, 0, np.int8),
        strength=ints(strength, 0, np.int8), query=query,
        queries=tuple(queries) if queries is not None else tuple(f"q{i + 1}" for i in range(query.max(initial=-1) + 1)),
        rater=ints(rater, -1), raters=tuple(raters), category=ints(category, -1), categories=tuple(categories),
        both_bad=np.zeros(n, dtype=bool) if both_bad is None else np.asarray(both_bad, dtype=bool).reshape(n),
        gold=ints(gold, 0, np.int8), left_chars=floats(left_chars), right_chars=floats(right_chars),
        left_markup=floats(left_markup), right_markup=floats(right_markup),
        criterion=ints(criterion, 0), criteria=tuple(criteria),
        too_fast=np.zeros(n, dtype=bool) if too_fast is None else np.asarray(too_fast, dtype=bool).reshape(n),
    )


def build_judgments(rows, variant_ids):
    """Judgments from already validated dicts (the database path uses this too).

    Each row has query, left, right, winner and optionally the other columns, already parsed:
    strength int (0 = none), both_bad bool, gold "left"/"right"/"", numbers as float or None.
    """
    position = {v: i for i, v in enumerate(variant_ids)}
    query, queries = _codes([r["query"] for r in rows], missing=None)
    rater, raters = _codes([r.get("rater") or "" for r in rows])
    category, categories = _codes([r.get("category") or "" for r in rows])
    criterion, criteria = _codes([r.get("criterion") or IMPLICIT_CRITERION for r in rows], missing=None)

    def column(name, convert, default):
        return [default if r.get(name) in (None, "") else convert(r[name]) for r in rows]

    return judgments_from_arrays(
        [position[r["left"]] for r in rows], [position[r["right"]] for r in rows],
        [WINNERS[r["winner"]] for r in rows], column("strength", int, 0), query, rater,
        queries=queries, raters=raters, category=category, categories=categories,
        both_bad=column("both_bad", bool, False), gold=[WINNERS.get(r.get("gold") or "", 0) for r in rows],
        **{name: column(name, float, np.nan) for name in ("left_chars", "right_chars", "left_markup", "right_markup")},
        criterion=criterion, criteria=criteria or (IMPLICIT_CRITERION,), too_fast=column("too_fast", bool, False),
    )


def _read(path, numeric=()):
    """The CSV file as a CsvTable, or a TableError naming file and line."""
    try:
        return str(path), read_csv(path, numeric)
    except CsvProblems as exc:
        raise TableError([(str(path), line, message) for line, message in exc.problems]) from None


def read_variants(path):
    """Read variants.csv into a VariantTable; raises TableError naming file and line."""
    name, table = _read(path)
    header = table.header
    problems = []
    if not header or header[0] != "variant":
        raise TableError([(name, 1, "the first column must be 'variant'")])
    factors = header[1:]
    if not factors:
        problems.append((name, 1, "no factor columns after 'variant'"))
    duplicates = {f for f in factors if factors.count(f) > 1 or not f}
    for factor in sorted(duplicates):
        problems.append((name, 1, f"factor column {factor!r} is empty or repeated"))
    if problems:
        raise TableError(problems)
    cells = {column: table.columns[column].values() for column in header}
    ids, seen, levels, runs = [], {}, [dict() for _ in factors], []
    for row, line in enumerate(table.lines.tolist()):
        variant = cells["variant"][row]
        if not variant:
            problems.append((name, line, "empty variant id"))
        elif variant in seen:
            problems.append((name, line, f"variant {variant!r} already defined on line {seen[variant]}"))
        seen.setdefault(variant, line)
        run = []
        for f, factor in enumerate(factors):
            level = cells[factor][row]
            if not level:
                problems.append((name, line, f"empty level for factor {factor!r}"))
            run.append(levels[f].setdefault(level, len(levels[f])))
        ids.append(variant)
        runs.append(run)
    if not len(table):
        problems.append((name, 0, "no variants"))
    if problems:
        raise TableError(problems)
    return VariantTable(
        ids=tuple(ids), factors=tuple(factors),
        levels=tuple(tuple(names) for names in levels),
        runs=np.array(runs, dtype=np.int64).reshape(len(ids), len(factors)),
    )


class _Checks:
    """Problems found column by column, kept with their row so they come out in file order."""

    def __init__(self):
        self.found = []

    def rows(self, mask, message, order):
        """Report `message` (a str, or a function of the row) for every row in `mask`."""
        for row in np.flatnonzero(mask).tolist():
            self.found.append((row, order, message(row) if callable(message) else message))

    def labels(self, column, bad, message, order):
        """Report `message(label)` for every row whose label is in `bad` (a set of codes)."""
        if bad:
            self.rows(np.isin(column.codes, sorted(bad)), lambda row: message(column.labels[column.codes[row]]), order)


def _lookup(column, mapping, default):
    """Map a column's labels through `mapping` (label -> value) for every row; unknown -> default."""
    return np.array([mapping.get(label, default) for label in column.labels] or [default])[column.codes]


def _numbers(column, checks, name, order):
    """Float per row from a numeric column (blank -> NaN); bad cells are reported."""
    values, messages = [], {}
    for code, label in enumerate(column.labels):
        try:
            value = float(label) if label else np.nan
        except ValueError:
            value, messages[code] = np.nan, f"{name}: {label!r} is not a number"
        if label and code not in messages and (not np.isfinite(value) or value < 0):
            messages[code] = f"{name}: {label!r} must be a non-negative number"
        values.append(value)
    by_label = {column.labels[code]: message for code, message in messages.items()}
    checks.labels(column, set(messages), by_label.__getitem__, order)
    return np.array(values or [np.nan])[column.codes]


def read_judgments(path, variants):
    """Read judgments.csv against a VariantTable; raises TableError naming file and line.

    Validation runs on each column's distinct values (see csvfile), so a million judgments cost
    about as much as pandas' parse.  An attention item (gold left/right) may show the same variant
    on both sides: it is scored for accuracy and never enters the fit.
    """
    name, table = _read(path, numeric=NUMERIC_JUDGMENT_COLUMNS)
    header = table.header
    missing = [c for c in REQUIRED_JUDGMENT_COLUMNS if c not in header]
    if missing:
        raise TableError([(name, 1, f"missing column(s) {', '.join(missing)}; "
                                    f"the header needs {','.join(REQUIRED_JUDGMENT_COLUMNS)}")])
    unknown = [c for c in header if c not in REQUIRED_JUDGMENT_COLUMNS + OPTIONAL_JUDGMENT_COLUMNS]
    if unknown:
        raise TableError([(name, 1, f"unknown column(s) {', '.join(unknown)}; optional columns are "
                                    f"{', '.join(OPTIONAL_JUDGMENT_COLUMNS)}")])
    if not len(table):
        raise TableError([(name, 0, "no judgments")])
    n = len(table)
    blank = Column(codes=np.zeros(n, dtype=np.int64), labels=("",))
    column = {c: table.columns.get(c, blank) for c in REQUIRED_JUDGMENT_COLUMNS + OPTIONAL_JUDGMENT_COLUMNS}
    checks = _Checks()
    query = column["query"]
    checks.labels(query, {c for c, label in enumerate(query.labels) if not label}, lambda _: "empty query", 0)
    position = {v: i for i, v in enumerate(variants.ids)}
    sides = {}
    for order, side in enumerate(("left", "right"), start=1):
        sides[side] = _lookup(column[side], position, -1)
        checks.labels(column[side], {c for c, label in enumerate(column[side].labels) if label not in position},
                      lambda label, side=side: f"{side}: unknown variant id {label!r}", order)
    winner = _lookup(column["winner"], {label: WINNERS[label.lower()] for label in column["winner"].labels
                                        if label.lower() in WINNERS}, 2)
    checks.labels(column["winner"], {c for c, label in enumerate(column["winner"].labels) if label.lower() not in WINNERS},
                  lambda label: f"winner: {label!r} is not left, right or tie", 4)
    strength = _lookup(column["strength"], {"": 0, "1": 1, "2": 2}, -1)
    checks.labels(column["strength"], {c for c, label in enumerate(column["strength"].labels)
                                       if label not in ("", "1", "2")},
                  lambda label: f"strength: {label!r} is not 1, 2 or blank", 5)
    checks.rows((winner == 0) & (strength > 0), "strength: a tie has no strength", 5)
    both_bad = _lookup(column["both_bad"], {label: label.lower() in TRUE_WORDS for label in column["both_bad"].labels},
                       False)
    checks.labels(column["both_bad"], {c for c, label in enumerate(column["both_bad"].labels)
                                       if label.lower() not in TRUE_WORDS | FALSE_WORDS},
                  lambda label: f"both_bad: {label!r} is not 1/0, true/false or yes/no", 6)
    too_fast = _lookup(column["too_fast"], {label: label.lower() in TRUE_WORDS for label in column["too_fast"].labels},
                       False)
    checks.labels(column["too_fast"], {c for c, label in enumerate(column["too_fast"].labels)
                                       if label.lower() not in TRUE_WORDS | FALSE_WORDS},
                  lambda label: f"too_fast: {label!r} is not 1/0, true/false or yes/no", 13)
    gold = _lookup(column["gold"], {label: WINNERS.get(label.lower(), 0) for label in column["gold"].labels}, 0)
    checks.labels(column["gold"], {c for c, label in enumerate(column["gold"].labels)
                                   if label.lower() not in ("", "left", "right")},
                  lambda label: f"gold: {label!r} is not left, right or blank", 7)
    checks.rows((sides["left"] == sides["right"]) & (sides["left"] >= 0) & (gold == 0),
                "left and right are the same variant (allowed only for an attention item, gold left/right)", 3)
    numbers = {c: _numbers(column[c], checks, c, 8 + i)
               for i, c in enumerate(("left_chars", "right_chars", "left_markup", "right_markup"))}
    named = column["criterion"]
    if "" in named.labels and len(named.labels) > 1:
        checks.labels(named, {named.labels.index("")},
                      lambda _: "criterion: blank, but other lines name a criterion: name one on every line", 12)
    if checks.found:
        lines = table.lines
        raise TableError([(name, int(lines[row]), message) for row, _, message in sorted(checks.found)])

    def labelled(c):
        """Codes with the blank label as -1 (unknown), and the other labels in order."""
        col = column[c]
        if "" not in col.labels:
            return col.codes, col.labels
        empty = col.labels.index("")
        shift = np.arange(len(col.labels)) - (np.arange(len(col.labels)) > empty)
        shift[empty] = -1
        return shift[col.codes], tuple(label for label in col.labels if label != "")

    rater, raters = labelled("rater")
    category, categories = labelled("category")
    return judgments_from_arrays(
        sides["left"], sides["right"], winner, strength, query.codes, rater, queries=query.labels, raters=raters,
        category=category, categories=categories, both_bad=both_bad, gold=gold, **numbers,
        criterion=named.codes, criteria=named.labels, too_fast=too_fast)


def write_variants(path, variants):
    """variants.csv, with user text neutralised against spreadsheet formulas (see csvfile)."""
    rows = [(neutralise(variant), [neutralise(variants.levels[f][variants.runs[v, f]])
                                   for f in range(len(variants.factors))])
            for v, variant in enumerate(variants.ids)]
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        write_variants_csv(handle, [neutralise(f) for f in variants.factors], rows)


def _text(labels, codes):
    """A column of user text, neutralised; code -1 is blank."""
    return Column(codes=np.where(codes >= 0, codes, len(labels)), labels=tuple(neutralise(label) for label in labels) + ("",))


def _fixed(labels, codes):
    return Column(codes=np.asarray(codes, dtype=np.int64), labels=tuple(labels))


def _number_text(values):
    """Numbers as `%g` text, each distinct value formatted once; NaN is blank."""
    distinct, inverse = np.unique(values, return_inverse=True)
    return Column(codes=inverse.reshape(-1), labels=tuple("" if not np.isfinite(v) else f"{v:g}" for v in distinct))


def needs_neutralising(judgments, variants):
    """Whether any text judgments.csv would hold must be written with a protective apostrophe."""
    labels = (*judgments.queries, *judgments.raters, *judgments.categories, *judgments.criteria, *variants.ids)
    return any(neutralise(label) != label for label in labels)


def write_judgments(path, judgments, variants):
    """Write judgments.csv with the required columns and every optional column that has data;
    `read_judgments` reads it back to the same judgments (attention items included)."""
    columns = {
        "query": _text(judgments.queries, judgments.query),
        "left": _text(variants.ids, judgments.left), "right": _text(variants.ids, judgments.right),
        "winner": _fixed(("right", "tie", "left"), judgments.winner + 1),
    }
    if np.any(judgments.strength > 0):
        columns["strength"] = _fixed(("", "1", "2"), judgments.strength)
    if judgments.has_raters:
        columns["rater"] = _text(judgments.raters, judgments.rater)
    if np.any(judgments.category >= 0):
        columns["category"] = _text(judgments.categories, judgments.category)
    if np.any(judgments.both_bad):
        columns["both_bad"] = _fixed(("0", "1"), judgments.both_bad)
    if np.any(judgments.gold != 0):
        columns["gold"] = _fixed(("right", "", "left"), judgments.gold + 1)
    for column in ("left_chars", "right_chars", "left_markup", "right_markup"):
        values = getattr(judgments, column)
        if np.any(np.isfinite(values)):
            columns[column] = _number_text(values)
    if judgments.has_criteria:
        columns["criterion"] = _text(judgments.criteria, judgments.criterion)
    if judgments.too_fast is not None and np.any(judgments.too_fast):
        columns["too_fast"] = _fixed(("0", "1"), judgments.too_fast)
    write_csv(path, list(columns), list(columns.values()))
