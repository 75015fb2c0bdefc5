"""Strength-2 orthogonal arrays: their constructions and the catalog `design_matrix` chooses from.

An orthogonal array OA(N, s1^k1 s2^k2 ...) of strength 2 has N runs and one column per factor;
in every pair of columns every pair of symbols occurs equally often. The catalog is built once
per process from a few classical constructions, each named in its docstring:

- Rao–Hamming (Bose) arrays over a Galois field GF(s): s^m runs, (s^m - 1)/(s - 1) columns of
  s levels (L4, L8, L16, L32, L64, L9, L27, L81, L16(4^5), L64(4^21), L25, L125, L49, L64(8^9),
  L81(9^10)).
- The same arrays with disjoint lines of the projective geometry merged into s^2-level columns
  (three two-level columns → one four-level column: L8(2^4 4^1), L16(2^12 4^1) ... L16(4^5),
  L32(2^4 4^9), L64(2^k 4^j); four three-level columns → one nine-level column).
- Hadamard matrices (pydoe's Plackett–Burman generator, plus Paley's construction where pydoe
  has none): two-level arrays in 12, 20, 24, 28, 36, 40, 44 and 48 runs.
- Tables shipped with pydoe (the maintained continuation of pyDOE2), after checking them:
  L18(6^1 3^6) and, with its six-level column split into a two- and a three-level column,
  L18(2^1 3^7); "L36(3^23)", which really is L36(2^11 3^12); L50(2^1 5^11); L54(2^1 3^25).
  pydoe's L64(2^31) is not orthogonal and its "L27(2^1 3^12)" is L27(3^13): neither is used.
- A Hadamard matrix doubled into OA(2n, n^1 2^n), whose n-level column is then replaced by a
  smaller array (OA(24, 2^16 3^1) from OA(12, 2^4 3^1)).

References
----------
A. S. Hedayat, N. J. A. Sloane, J. Stufken, *Orthogonal Arrays: Theory and Applications*,
Springer, 1999 — ch. 3 (Rao–Hamming), ch. 7 (Hadamard matrices, Paley), ch. 9 (expansive
replacement, mixed arrays).
"""
from __future__ import annotations

import functools
import itertools
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).with_name("oa")

# Arrays larger than this are left out of the catalog: every run is a prompt variant whose
# answers people have to judge, so bigger designs are not practical anyway.
MAX_CATALOG_RUNS = 128


class ArrayError(ValueError):
    """No array can hold the requested factors, or a named array is unknown or too small."""


def _pydoe():
    """pydoe, imported on first use: importing it pulls in scipy.stats (about a second), which
    the web app should not pay for at start-up."""
    import pydoe

    return pydoe


@dataclass(frozen=True, eq=False)
class OrthogonalArray:
    """One strength-2 array of the catalog.

    `runs` holds symbols 0..s-1 per column (n_runs × n_columns); `levels` the number of symbols
    of each column. `points` is set for regular two-level arrays only: column j is the linear
    form x ↦ <x, points[j]> over GF(2)^m (points as bit masks), which lets column choice
    reason about the defining relation instead of searching.
    """

    name: str
    runs: np.ndarray
    levels: tuple[int, ...]
    source: str
    points: tuple[int, ...] | None = None

    @property
    def n_runs(self) -> int:
        return self.runs.shape[0]

    def level_counts(self) -> Counter:
        return Counter(self.levels)

    def holds(self, needed: Counter) -> bool:
        have = self.level_counts()
        return all(have[s] >= k for s, k in needed.items())


def array_name(n_runs: int, levels) -> str:
    """Taguchi-style name with ascending level counts, e.g. ``L16(2^12 4^1)``."""
    counts = Counter(levels)
    return f"L{n_runs}(" + " ".join(f"{s}^{counts[s]}" for s in sorted(counts)) + ")"


def _make(runs, levels, source, points=None) -> OrthogonalArray:
    runs = np.ascontiguousarray(runs, dtype=np.int64)
    levels = tuple(int(s) for s in levels)
    return OrthogonalArray(array_name(runs.shape[0], levels), runs, levels, source, points)


def is_strength_two(runs: np.ndarray, levels) -> bool:
    """True when every column is balanced and every pair of columns holds every pair of
    symbols equally often (the defining property of a strength-2 orthogonal array)."""
    runs = np.asarray(runs)
    n = runs.shape[0]
    for j, s in enumerate(levels):
        if set(np.unique(runs[:, j])) - set(range(s)) or n % s:
            return False
        if np.any(np.bincount(runs[:, j], minlength=s) != n // s):
            return False
    for i, j in itertools.combinations(range(len(levels)), 2):
        cells = levels[i] * levels[j]
        if n % cells:
            return False
        counts = np.bincount(runs[:, i] * levels[j] + runs[:, j], minlength=cells)
        if np.any(counts != n // cells):
            return False
    return True


# --- Galois fields ------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class GaloisField:
    """GF(p^n) with elements 0..q-1: element e is the polynomial whose coefficients are the
    base-p digits of e (so for a prime field the elements are the integers mod p).
    Arithmetic goes through full addition and multiplication tables (q ≤ 128)."""

    p: int
    n: int
    add: np.ndarray
    mul: np.ndarray

    @property
    def q(self) -> int:
        return self.p ** self.n

    def neg(self, a: int) -> int:
        return int(np.flatnonzero(self.add[a] == 0)[0])

    def inv(self, a: int) -> int:
        return int(np.flatnonzero(self.mul[a] == 1)[0])

    def is_square(self, a: int) -> bool:
        return a != 0 and bool(np.any(self.mul.diagonal() == a))


def _prime_power(q: int) -> tuple[int, int] | None:
    for p in range(2, q + 1):
        if q % p == 0:
            n, rest = 0, q
            while rest % p == 0:
                rest //= p
                n += 1
            return (p, n) if rest == 1 else None
    return None


@functools.cache
def galois_field(q: int) -> GaloisField:
    """GF(q) for a prime power q, built on the first primitive polynomial in lexicographic
    order of its coefficients (a fixed choice, so the tables never change)."""
    p, n = _prime_power(q) or (None, None)
    if p is None:
        raise ArrayError(f"{q} is not a prime power, so there is no field GF({q})")
    digits = np.array([[(e // p ** i) % p for i in range(n)] for e in range(q)])
    weights = p ** np.arange(n)
    add = ((digits[:, None, :] + digits[None, :, :]) % p) @ weights
    if n == 1:
        mul = np.outer(np.arange(q), np.arange(q)) % q
        return GaloisField(p, n, add, mul)
    for tail in itertools.product(range(p), repeat=n):
        # x^n = -(tail[0] + tail[1] x + ...); keep the first polynomial for which x has order q-1
        powers = _powers_of_x(tail, p, n, q)
        if powers is not None:
            break
    log = {e: k for k, e in enumerate(powers)}
    mul = np.zeros((q, q), dtype=np.int64)
    for a in range(1, q):
        for b in range(1, q):
            mul[a, b] = powers[(log[a] + log[b]) % (q - 1)]
    return GaloisField(p, n, add, mul)


def _powers_of_x(tail, p, n, q):
    """The successive powers of x modulo x^n + tail(x), as element numbers, if x is primitive."""
    coeffs = [0] * n
    coeffs[0] = 1
    seen = []
    for _ in range(q - 1):
        element = sum(c * p ** i for i, c in enumerate(coeffs))
        if element == 0 or element in seen:
            return None
        seen.append(element)
        top = coeffs[-1]
        coeffs = [0] + coeffs[:-1]
        coeffs = [(c - top * t) % p for c, t in zip(coeffs, tail)]
    return seen


# --- Rao–Hamming arrays and merged lines ----------------------------------------------------------

def _projective_points(field: GaloisField, m: int) -> list[tuple[int, ...]]:
    """Points of PG(m-1, s): nonzero vectors of GF(s)^m whose first nonzero coordinate is 1.
    Unit vectors come first, so the first m columns of a Rao–Hamming array are a full
    factorial in its basic factors."""
    points = [v for v in itertools.product(range(field.q), repeat=m)
              if any(v) and v[next(i for i, c in enumerate(v) if c)] == 1]
    units = [tuple(int(i == j) for j in range(m)) for i in range(m)]
    return units + [v for v in points if v not in units]


def _linear_columns(field: GaloisField, m: int, points) -> np.ndarray:
    """Column j of the result is x ↦ <x, points[j]> over all x in GF(s)^m (lexicographic)."""
    xs = np.array(list(itertools.product(range(field.q), repeat=m)), dtype=np.int64)
    cols = np.zeros((len(xs), len(points)), dtype=np.int64)
    for j, point in enumerate(points):
        for i, coeff in enumerate(point):
            cols[:, j] = field.add[cols[:, j], field.mul[xs[:, i], coeff]]
    return cols


def rao_hamming(s: int, m: int) -> OrthogonalArray:
    """OA(s^m, s^((s^m-1)/(s-1))): one column per point of PG(m-1, s).

    Hedayat, Sloane & Stufken (1999), Theorem 3.20. For s = 2 the columns are the 2^m - 1
    nonzero vectors of GF(2)^m and the array is the regular 2^(k-p) fraction family.
    """
    field = galois_field(s)
    points = _projective_points(field, m)
    runs = _linear_columns(field, m, points)
    masks = tuple(sum(c << (m - 1 - i) for i, c in enumerate(pt)) for pt in points) if s == 2 else None
    return _make(runs, [s] * len(points), f"Rao–Hamming over GF({s}), {m} basic factors", masks)


def _lines(p: int, m: int, points) -> list[tuple[int, ...]]:
    """Every line of PG(m-1, p) (p prime) as a sorted tuple of point indices."""
    index = {pt: i for i, pt in enumerate(points)}

    def normalise(v):
        lead = next(c for c in v if c)
        inv = pow(lead, -1, p)
        return tuple(c * inv % p for c in v)

    lines = set()
    for a, b in itertools.combinations(points, 2):
        members = {index[a], index[b]}
        for t in range(1, p):
            members.add(index[normalise(tuple((x + t * y) % p for x, y in zip(a, b)))])
        lines.add(tuple(sorted(members)))
    return sorted(lines)


def _partial_spread(p: int, m: int, n_points: int, lines) -> list[tuple[int, ...]]:
    """A largest set of pairwise disjoint lines of PG(m-1, p), found by exhaustive search.

    The largest size is known (Beutelspacher 1975): (p^m - 1)/(p^2 - 1) for even m (a spread)
    and (p^m - p^3)/(p^2 - 1) + 1 for odd m. The search covers points in order, allowing as
    many uncovered points as that size leaves, so it ends quickly on these small geometries.
    """
    target = (p ** m - 1) // (p ** 2 - 1) if m % 2 == 0 else (p ** m - p ** 3) // (p ** 2 - 1) + 1
    slack = n_points - target * (p + 1)
    through = [[line for line in lines if point in line] for point in range(n_points)]
    chosen: list[tuple[int, ...]] = []
    covered = [False] * n_points

    def search(point, skips):
        if len(chosen) == target:
            return True
        while point < n_points and covered[point]:
            point += 1
        if point == n_points:
            return False
        for line in through[point]:
            if not any(covered[q] for q in line):
                chosen.append(line)
                for q in line:
                    covered[q] = True
                if search(point + 1, skips):
                    return True
                chosen.pop()
                for q in line:
                    covered[q] = False
        return skips < slack and search(point + 1, skips + 1)

    search(0, 0)
    return chosen


def merged_line_arrays(p: int, m: int) -> list[OrthogonalArray]:
    """Rao–Hamming arrays over prime GF(p) with 1, 2, ... disjoint lines merged into p^2-level
    columns: the p + 1 columns of a line carry the same information as one p^2-level factor
    (its two coordinates), and that factor is orthogonal to every column off the line.

    Hedayat, Sloane & Stufken (1999), §9.2 (e.g. L16(2^12 4^1) ... L16(4^5), L32(2^4 4^9)).
    """
    field = galois_field(p)
    points = _projective_points(field, m)
    base = _linear_columns(field, m, points)
    spread = _partial_spread(p, m, len(points), _lines(p, m, points))
    result = []
    for k in range(1, len(spread) + 1):
        used = spread[:k]
        on_lines = {q for line in used for q in line}
        kept = [j for j in range(len(points)) if j not in on_lines]
        merged = [base[:, line[0]] * p + base[:, line[1]] for line in used]
        runs = np.column_stack([base[:, kept], *merged])
        levels = [p] * len(kept) + [p * p] * k
        result.append(_make(runs, levels, f"Rao–Hamming over GF({p}), {m} basic factors, "
                                          f"{k} line(s) merged into {p * p}-level columns"))
    return result


# --- Hadamard matrices ----------------------------------------------------------------------------

def _hadamard_array(h: np.ndarray, source: str) -> OrthogonalArray:
    """OA(n, 2^(n-1)) from a Hadamard matrix of order n: normalise its first column to +1
    and drop it (Hedayat, Sloane & Stufken 1999, Theorem 7.5)."""
    h = h * h[:, :1]
    return _make((h[:, 1:] < 0).astype(np.int64), [2] * (h.shape[0] - 1), source)


def plackett_burman(n_runs: int) -> OrthogonalArray:
    """Two-level array in n_runs runs from pydoe's Plackett–Burman generator (orders 12·2^e,
    20·2^e and 2^e). Plackett & Burman (1946), Biometrika 33, 305–325."""
    design = _pydoe().pbdesign(n_runs - 1).astype(np.int64)
    if design.shape != (n_runs, n_runs - 1):
        raise ArrayError(f"pydoe.pbdesign has no {n_runs}-run design")
    return _make((design < 0).astype(np.int64), [2] * (n_runs - 1),
                 "Plackett–Burman (pydoe.pbdesign)")


def _paley_core(q: int) -> np.ndarray:
    """Jacobsthal matrix Q[a, b] = χ(b - a) over GF(q), χ the quadratic character."""
    field = galois_field(q)
    chi = np.array([0] + [1 if field.is_square(a) else -1 for a in range(1, q)])
    return np.array([[chi[field.add[b, field.neg(a)]] for b in range(q)] for a in range(q)])


def paley(n_runs: int) -> OrthogonalArray:
    """Two-level array from Paley's Hadamard matrix of order n_runs.

    Paley I: q = n - 1 a prime power ≡ 3 (mod 4); Paley II: q = n/2 - 1 ≡ 1 (mod 4).
    Paley (1933), J. Math. Phys. 12, 311–320; Hedayat, Sloane & Stufken (1999), §7.4.
    """
    q = n_runs - 1
    if _prime_power(q) and q % 4 == 3:
        s = np.zeros((n_runs, n_runs), dtype=np.int64)
        s[0, 1:], s[1:, 0] = 1, -1
        s[1:, 1:] = _paley_core(q)
        return _hadamard_array(s + np.eye(n_runs, dtype=np.int64), "Paley I")
    q = n_runs // 2 - 1
    if n_runs % 2 == 0 and _prime_power(q) and q % 4 == 1:
        c = np.zeros((q + 1, q + 1), dtype=np.int64)
        c[0, 1:], c[1:, 0] = 1, 1
        c[1:, 1:] = _paley_core(q)
        block_plus = np.array([[1, 1], [1, -1]])
        block_zero = np.array([[1, -1], [-1, -1]])
        h = np.where(c[:, :, None, None] == 0, block_zero, c[:, :, None, None] * block_plus)
        return _hadamard_array(h.transpose(0, 2, 1, 3).reshape(n_runs, n_runs), "Paley II")
    raise ArrayError(f"no Paley construction of order {n_runs}")


def _hadamard(n_runs: int) -> np.ndarray:
    """±1 Hadamard matrix of order n_runs (first column +1) from the two-level array."""
    oa = plackett_burman(n_runs)
    return np.column_stack([np.ones(n_runs, dtype=np.int64), 1 - 2 * oa.runs])


def doubled_hadamard(n: int) -> OrthogonalArray:
    """OA(2n, n^1 2^n): runs ±(row i of a Hadamard matrix H), with i as the n-level column.
    Each pair of H's columns is orthogonal, and each row occurs once with each sign.
    Hedayat, Sloane & Stufken (1999), §9.3."""
    h = _hadamard(n)
    signed = np.vstack([h, -h])
    rows = np.concatenate([np.arange(n), np.arange(n)])
    return _make(np.column_stack([(signed < 0).astype(np.int64), rows]), [2] * n + [n],
                 f"doubled Hadamard matrix of order {n}")


def replace_column(oa: OrthogonalArray, column: int, sub: OrthogonalArray, source: str):
    """Expansive replacement: an s-level column becomes the columns of an OA(s, ...), symbol
    v mapped to row v of `sub`. Strength 2 is preserved (Hedayat, Sloane & Stufken 1999, §9.3)."""
    if oa.levels[column] != sub.n_runs:
        raise ArrayError(f"cannot replace a {oa.levels[column]}-level column by {sub.name}")
    keep = [j for j in range(len(oa.levels)) if j != column]
    runs = np.column_stack([oa.runs[:, keep], sub.runs[oa.runs[:, column]]])
    return _make(runs, [oa.levels[j] for j in keep] + list(sub.levels), source)


def full_factorial(levels) -> np.ndarray:
    """Every combination of levels once (pydoe.fullfact), first factor varying fastest."""
    return _pydoe().fullfact(list(levels)).astype(np.int64)


# --- pydoe's tables and shipped data --------------------------------------------------------------

def taguchi(pydoe_name: str, source: str = "") -> OrthogonalArray:
    """One of pydoe's Taguchi tables, named after the columns it really has."""
    runs = np.asarray(_pydoe().get_orthogonal_array(pydoe_name), dtype=np.int64)
    levels = [len(np.unique(runs[:, j])) for j in range(runs.shape[1])]
    # pydoe puts two-level columns after three-level ones in "L36(3^23)"; order columns by level
    order = sorted(range(len(levels)), key=lambda j: (levels[j], j))
    return _make(runs[:, order], [levels[j] for j in order],
                 source or f"pydoe Taguchi table {pydoe_name}")


def shipped(file_name: str) -> OrthogonalArray:
    """An array kept as data under designs/oa/ (JSON: runs, levels, source)."""
    data = json.loads((DATA_DIR / file_name).read_text())
    return _make(np.array(data["runs"]), data["levels"], data["source"])


# --- the catalog --------------------------------------------------------------------------------

def _build_catalog() -> list[OrthogonalArray]:
    arrays = []
    for s, top in ((2, 6), (3, 4), (4, 3), (5, 3), (7, 2), (8, 2), (9, 2)):
        arrays += [rao_hamming(s, m) for m in range(2, top + 1) if s ** m <= MAX_CATALOG_RUNS]
    for p, top in ((2, 6), (3, 4)):
        for m in range(3, top + 1):
            arrays += merged_line_arrays(p, m)
    arrays += [plackett_burman(n) for n in (12, 20, 24, 40, 48)]
    arrays += [paley(n) for n in (28, 36, 44)]
    l18 = taguchi("L18(6^1 3^6)")
    arrays.append(l18)
    arrays.append(replace_column(l18, l18.levels.index(6), _make(full_factorial([2, 3]), [2, 3], ""),
                                 "pydoe's L18(6^1 3^6), six-level column split as 6 = 2 × 3"))
    arrays.append(taguchi("L36(3^23)", "pydoe's table 'L36(3^23)', which is L36(2^11 3^12)"))
    arrays.append(taguchi("L50(2^1 5^11)"))
    arrays.append(taguchi("L54(2^1 3^25)"))
    arrays += [doubled_hadamard(n) for n in (4, 8, 16)]
    small = shipped("L12_2^4_3^1.json")
    arrays.append(small)
    doubled = doubled_hadamard(12)
    arrays.append(replace_column(doubled, doubled.levels.index(12), small,
                                 "doubled Hadamard matrix of order 12, its 12-level column "
                                 "replaced by OA(12, 2^4 3^1)"))
    arrays = [a for a in arrays if a.n_runs <= MAX_CATALOG_RUNS]
    # one entry per name: a later construction with the same column profile adds nothing
    unique = {}
    for a in arrays:
        unique.setdefault(a.name, a)
    return sorted(unique.values(), key=lambda a: (a.n_runs, _name_key(a.levels)))


def _name_key(levels):
    """Within a run size: more columns of fewer levels first (L16(2^15) before L16(2^12 4^1))."""
    counts = Counter(levels)
    return tuple(-counts[s] for s in sorted(counts)), tuple(sorted(counts))


@functools.cache
def catalog() -> tuple[OrthogonalArray, ...]:
    """Every fixed array `design_matrix` can return (full factorials aside), smallest first.
    Built once per process (about 0.07 s, plus about 1 s to import pydoe)."""
    return tuple(_build_catalog())


# --- choosing an array ----------------------------------------------------------------------------

_NAME = re.compile(r"^L(\d+)\s*(?:\(([\d^\s×x]*)\))?$", re.IGNORECASE)


def profile(levels) -> str:
    """Human-readable factor profile, e.g. ``2^3 3^1``."""
    counts = Counter(levels)
    return " ".join(f"{s}^{counts[s]}" for s in sorted(counts))


def _fits(needed: Counter, name: str | None = None) -> list[OrthogonalArray]:
    """Catalog arrays that hold the factors, best first: fewest runs, then the most columns of
    the needed kinds (more room to choose mildly aliased columns)."""
    found = [a for a in catalog() if a.holds(needed) and (name is None or _matches(a, name))]
    return sorted(found, key=lambda a: (a.n_runs, -sum(a.level_counts()[s] for s in needed)))


def _matches(oa: OrthogonalArray, name: str) -> bool:
    match = _NAME.match(name.strip())
    if not match or int(match.group(1)) != oa.n_runs:
        return False
    if match.group(2) is None:
        return True
    wanted = Counter()
    for part in re.findall(r"(\d+)\^(\d+)", match.group(2)):
        wanted[int(part[0])] += int(part[1])
    return wanted == oa.level_counts()


def find_array(levels, name: str = "auto") -> OrthogonalArray | None:
    """The array to use for factors with these numbers of levels.

    ``auto``: the smallest catalog array that holds them, or None when a full factorial is no
    larger (it then estimates every interaction as well). ``full``: None. ``L18``,
    ``L16(2^12 4^1)``...: that array, or ArrayError saying what it holds and what would fit.
    """
    levels = list(levels)
    needed = Counter(levels)
    full_runs = int(np.prod(levels, dtype=object))
    name = str(name).strip()
    if name.lower() == "full":
        return None
    if name.lower() == "auto":
        fits = _fits(needed)
        if fits and fits[0].n_runs < full_runs:
            return fits[0]
        if full_runs <= MAX_FULL_RUNS or (fits and fits[0].n_runs >= full_runs):
            return None
        raise ArrayError(_nothing_fits(levels, full_runs))
    named = [a for a in catalog() if _matches(a, name)]
    if not named:
        sizes = ", ".join(dict.fromkeys(f"L{a.n_runs}" for a in catalog()))
        raise ArrayError(f"unknown array {name!r}: use auto, full, or one of {sizes} "
                         "(optionally with its columns, e.g. L16(2^12 4^1))")
    fits = _fits(needed, name)
    if fits:
        return fits[0]
    best = _fits(needed)
    hint = (f"; smallest that fits: {best[0].name}" if best and best[0].n_runs < full_runs
            else f"; a full factorial ({full_runs} runs) fits")
    raise ArrayError(f"array {name} cannot hold {len(levels)} factors with levels {profile(levels)}: "
                     f"it holds {' or '.join(a.name for a in named)}{hint}")


# A full factorial is the fallback when no catalog array fits; beyond this it is refused.
MAX_FULL_RUNS = 1024


def _count(n: int) -> str:
    return f"{n:,}" if n < 10 ** 12 else f"about 10^{len(str(n)) - 1}"


def _nothing_fits(levels, full_runs) -> str:
    needed = Counter(levels)
    widest = []
    for s in sorted(needed):
        holders = [a for a in catalog() if a.level_counts()[s]]
        if holders:
            most = max(holders, key=lambda a: (a.level_counts()[s], -a.n_runs))
            widest.append(f"{most.level_counts()[s]} factors of {s} levels ({most.name})")
        else:
            widest.append(f"no factor of {s} levels")
    return (f"no orthogonal array in the catalog holds {len(levels)} factors with levels "
            f"{profile(levels)}, and a full factorial would need {_count(full_runs)} runs "
            f"(more than {MAX_FULL_RUNS}); the catalog holds at most " + ", ".join(widest)
            + ". Use fewer factors or fewer levels.")
