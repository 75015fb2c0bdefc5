"""The two input tables of an analysis (variants and judgments) as arrays, and their CSV form.

variants.csv: ``variant,<factor 1>,...,<factor k>``; cells are level names, and the level a
factor has in the first row is its baseline.  judgments.csv: ``query,left,right,winner`` plus
the optional columns below.  Both the CSV reader and ``data.py`` (the database path) build the
same `VariantTable` / `Judgments`, so everything downstream is indifferent to where data came from.

Optional judgment columns (all may be blank on any line):

=============  ==========================================================================
strength       1 (better) or 2 (much better); only with winner left/right
rater          any rater label; judgments of one rater form a cluster
category       the query's category (effects by category use it)
both_bad       1/0, true/false or yes/no: the rater said both answers are bad
gold           left or right: an attention item whose better side is known; gold items
               are scored for accuracy and left out of the effect estimates
left_chars     length of the left answer in characters (length/style diagnostic)
right_chars    length of the right answer in characters
left_markup    number of markdown structure elements (headings, list items, tables, code
               blocks) in the left answer
right_markup   the same for the right answer
=============  ==========================================================================
"""
import csv
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from designs.tables import write_variants_csv

WINNERS = {"left": 1, "right": -1, "tie": 0}
WINNER_NAMES = {1: "left", -1: "right", 0: "tie"}
REQUIRED_JUDGMENT_COLUMNS = ("query", "left", "right", "winner")
OPTIONAL_JUDGMENT_COLUMNS = (
    "strength", "rater", "category", "both_bad", "gold",
    "left_chars", "right_chars", "left_markup", "right_markup",
)
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

    def __len__(self):
        return len(self.left)

    def subset(self, mask):
        """The judgments selected by a boolean mask or index array (labels are kept)."""
        changes = {f.name: getattr(self, f.name)[mask] for f in fields(self)
                   if isinstance(getattr(self, f.name), np.ndarray)}
        return replace(self, **changes)

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
                          gold=None, left_chars=None, right_chars=None, left_markup=None, right_markup=None):
    """Judgments from arrays (simulations, benchmarks); absent columns get their 'unknown' value."""
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

    def column(name, convert, default):
        return [default if r.get(name) in (None, "") else convert(r[name]) for r in rows]

    return judgments_from_arrays(
        [position[r["left"]] for r in rows], [position[r["right"]] for r in rows],
        [WINNERS[r["winner"]] for r in rows], column("strength", int, 0), query, rater,
        queries=queries, raters=raters, category=category, categories=categories,
        both_bad=column("both_bad", bool, False), gold=[WINNERS.get(r.get("gold") or "", 0) for r in rows],
        **{name: column(name, float, np.nan) for name in ("left_chars", "right_chars", "left_markup", "right_markup")},
    )


def _read_rows(path):
    """Header and (line number, row dict) pairs; a missing file or empty file is a TableError."""
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise TableError([(str(path), 0, f"cannot read: {exc.strerror}")]) from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise TableError([(str(path), 1, "the file is empty; expected a header line")]) from None
        header = [name.strip() for name in header]
        rows = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                rows.append((reader.line_num, None, f"has {len(row)} cells, the header has {len(header)}"))
                continue
            rows.append((reader.line_num, dict(zip(header, (cell.strip() for cell in row))), None))
    return str(path), header, rows


def read_variants(path):
    """Read variants.csv into a VariantTable; raises TableError naming file and line."""
    name, header, rows = _read_rows(path)
    problems = []
    if not header or header[0] != "variant":
        raise TableError([(name, 1, "the first column must be 'variant'")])
    factors = header[1:]
    if not factors:
        problems.append((name, 1, "no factor columns after 'variant'"))
    duplicates = {f for f in factors if factors.count(f) > 1 or not f}
    for factor in sorted(duplicates):
        problems.append((name, 1, f"factor column {factor!r} is empty or repeated"))
    ids, seen, levels = [], {}, [dict() for _ in factors]
    runs = []
    for line, row, problem in rows:
        if problem:
            problems.append((name, line, problem))
            continue
        variant = row["variant"]
        if not variant:
            problems.append((name, line, "empty variant id"))
        elif variant in seen:
            problems.append((name, line, f"variant {variant!r} already defined on line {seen[variant]}"))
        seen.setdefault(variant, line)
        run = []
        for f, factor in enumerate(factors):
            level = row[factor]
            if not level:
                problems.append((name, line, f"empty level for factor {factor!r}"))
            run.append(levels[f].setdefault(level, len(levels[f])))
        ids.append(variant)
        runs.append(run)
    if not rows:
        problems.append((name, 0, "no variants"))
    if problems:
        raise TableError(problems)
    return VariantTable(
        ids=tuple(ids), factors=tuple(factors),
        levels=tuple(tuple(names) for names in levels),
        runs=np.array(runs, dtype=np.int64).reshape(len(ids), len(factors)),
    )


def _parse_judgment(row, known_variants):
    """Parse one judgments.csv row; returns (parsed dict, list of problems)."""
    problems = []
    parsed = {"query": row["query"]}
    if not row["query"]:
        problems.append("empty query")
    for side in ("left", "right"):
        if row[side] not in known_variants:
            problems.append(f"{side}: unknown variant id {row[side]!r}")
        parsed[side] = row[side]
    if row["left"] == row["right"] and row["left"]:
        problems.append("left and right are the same variant")
    winner = row["winner"].lower()
    if winner not in WINNERS:
        problems.append(f"winner: {row['winner']!r} is not left, right or tie")
    parsed["winner"] = winner
    strength = row.get("strength", "")
    if strength in ("", None):
        parsed["strength"] = 0
    elif strength not in ("1", "2"):
        problems.append(f"strength: {strength!r} is not 1, 2 or blank")
    elif winner == "tie":
        problems.append("strength: a tie has no strength")
    else:
        parsed["strength"] = int(strength)
    parsed["rater"] = row.get("rater", "")
    parsed["category"] = row.get("category", "")
    both_bad = row.get("both_bad", "").lower()
    if both_bad not in TRUE_WORDS | FALSE_WORDS:
        problems.append(f"both_bad: {row['both_bad']!r} is not 1/0, true/false or yes/no")
    parsed["both_bad"] = both_bad in TRUE_WORDS
    gold = row.get("gold", "").lower()
    if gold not in ("", "left", "right"):
        problems.append(f"gold: {row['gold']!r} is not left, right or blank")
    parsed["gold"] = gold
    for column in ("left_chars", "right_chars", "left_markup", "right_markup"):
        cell = row.get(column, "")
        if cell == "":
            parsed[column] = None
            continue
        try:
            parsed[column] = float(cell)
        except ValueError:
            problems.append(f"{column}: {cell!r} is not a number")
            continue
        if not np.isfinite(parsed[column]) or parsed[column] < 0:
            problems.append(f"{column}: {cell!r} must be a non-negative number")
    return parsed, problems


def read_judgments(path, variants):
    """Read judgments.csv against a VariantTable; raises TableError naming file and line."""
    name, header, rows = _read_rows(path)
    missing = [c for c in REQUIRED_JUDGMENT_COLUMNS if c not in header]
    if missing:
        raise TableError([(name, 1, f"missing column(s) {', '.join(missing)}; "
                                    f"the header needs {','.join(REQUIRED_JUDGMENT_COLUMNS)}")])
    unknown = [c for c in header if c not in REQUIRED_JUDGMENT_COLUMNS + OPTIONAL_JUDGMENT_COLUMNS]
    if unknown:
        raise TableError([(name, 1, f"unknown column(s) {', '.join(unknown)}; optional columns are "
                                    f"{', '.join(OPTIONAL_JUDGMENT_COLUMNS)}")])
    known = set(variants.ids)
    problems, parsed_rows = [], []
    for line, row, problem in rows:
        if problem:
            problems.append((name, line, problem))
            continue
        parsed, row_problems = _parse_judgment(row, known)
        problems.extend((name, line, p) for p in row_problems)
        parsed_rows.append(parsed)
    if not rows:
        problems.append((name, 0, "no judgments"))
    if problems:
        raise TableError(problems)
    return build_judgments(parsed_rows, variants.ids)


def write_variants(path, variants):
    rows = [(variant, [variants.levels[f][variants.runs[v, f]] for f in range(len(variants.factors))])
            for v, variant in enumerate(variants.ids)]
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        write_variants_csv(handle, variants.factors, rows)


def write_judgments(path, judgments, variants):
    """Write judgments.csv with the required columns and every optional column that has data."""
    optional = []
    if np.any(judgments.strength > 0):
        optional.append("strength")
    if judgments.has_raters:
        optional.append("rater")
    if np.any(judgments.category >= 0):
        optional.append("category")
    if np.any(judgments.both_bad):
        optional.append("both_bad")
    if np.any(judgments.gold != 0):
        optional.append("gold")
    for column in ("left_chars", "right_chars", "left_markup", "right_markup"):
        if np.any(np.isfinite(getattr(judgments, column))):
            optional.append(column)

    def cell(column, i):
        if column == "strength":
            return judgments.strength[i] or ""
        if column in ("rater", "category"):
            code = getattr(judgments, column)[i]
            labels = judgments.raters if column == "rater" else judgments.categories
            return labels[code] if code >= 0 else ""
        if column == "both_bad":
            return int(judgments.both_bad[i])
        if column == "gold":
            return WINNER_NAMES[int(judgments.gold[i])] if judgments.gold[i] else ""
        value = getattr(judgments, column)[i]
        return "" if not np.isfinite(value) else f"{value:g}"

    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(REQUIRED_JUDGMENT_COLUMNS) + optional)
        for i in range(len(judgments)):
            writer.writerow([
                judgments.queries[judgments.query[i]], variants.ids[judgments.left[i]],
                variants.ids[judgments.right[i]], WINNER_NAMES[int(judgments.winner[i])],
            ] + [cell(column, i) for column in optional])
