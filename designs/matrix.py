"""From the levels of a design's factors to its design matrix: which array, which of its
columns carry which factor, which symbol is which level, the order of the runs, and foldover.

Everything is deterministic given the levels: the same design file gives the same variants.
The steps, in order:

1. `arrays.find_array` picks the array (or a full factorial).
2. Columns: factors go to columns of their number of levels, more levels first, each factor
   taking the free column that aliases least with the columns already taken (see
   `_choose_columns`).
3. Symbols: each column is shifted cyclically, s ↦ (s − r) mod k, where r is the
   lexicographically smallest run of the chosen columns, so that run becomes all zeros — every
   factor at its baseline (first) level. A permutation of symbols keeps strength 2.
4. Runs are sorted lexicographically (first factor slowest), so row 0 is the baseline variant
   and the order never depends on how a library happens to list its rows.
5. A named array with more runs than its columns need repeats runs. If every distinct run
   repeats equally often the repeats are dropped (the distinct runs are still an orthogonal
   array); otherwise they are kept, as the balance needs them.
6. Foldover appends, in base-run order, the mirror image of each base run (every factor's level
   shifted by one, mod its number of levels; two-level factors are swapped). A mirror that is
   already a run is not added again: `mirror_of` then points at that run. For regular fractions
   the mirrors are either all new or all present (the design is already a foldover), so the
   result stays an orthogonal array in both cases. Where only some would coincide, the symbols
   of columns with three or more levels are first relabelled to avoid that
   (`_relabel_for_foldover`); the rare design where no relabelling helps (L12(2^4 3^1): 23
   runs) keeps its distinct runs, and the aliasing report shows the slight imbalance.
"""
from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from designs.arrays import ArrayError, OrthogonalArray, find_array, full_factorial, profile


@dataclass(frozen=True, eq=False)
class DesignMatrix:
    """Runs of an experiment: level indices, n_runs × n_factors; row 0 all zeros.

    `mirror_of[i]` is the index of run i's mirror image (for a mirror run: the base run it
    mirrors), or -1 without foldover. `columns[f]` is the array column factor f sits in
    (empty for a full factorial).
    """

    array_name: str
    runs: np.ndarray
    levels: tuple[int, ...]
    foldover: bool
    n_base_runs: int
    mirror_of: tuple[int, ...]
    columns: tuple[int, ...]

    @property
    def n_runs(self) -> int:
        return self.runs.shape[0]


def design_matrix(levels: Sequence[int], array: str = "auto", foldover: bool = False) -> DesignMatrix:
    """Design matrix for factors with the given numbers of levels.

    Parameters
    ----------
    levels : sequence of int
        Number of levels of each factor, in the design file's order (each at least 2).
    array : str
        ``"auto"`` (smallest strength-2 orthogonal array that fits, or a full factorial when
        that is no larger), ``"full"``, or an array name such as ``"L18"`` or ``"L16(2^12 4^1)"``.
    foldover : bool
        Append each run's mirror image (see the module docstring).

    Raises
    ------
    ArrayError
        Bad levels, an unknown array, or an array that cannot hold the factors; the message
        says what would fit.
    """
    levels = _check_levels(levels)
    oa = find_array(levels, array)
    if oa is None:
        name, runs, columns = f"full {profile(levels)}", full_factorial(levels), ()
    else:
        columns = tuple(_choose_columns(oa, levels))
        name, runs = oa.name, oa.runs[:, list(columns)]
    normalised = _normalise(runs, levels)
    base = _drop_uniform_repeats(normalised)
    if len(base) < len(normalised):
        name = f"{name}, {len(base)} distinct runs"
    if not foldover:
        return DesignMatrix(name, base, levels, False, len(base), (-1,) * len(base), columns)
    runs, mirror_of = fold(_relabel_for_foldover(base, levels), levels)
    return DesignMatrix(name, runs, levels, True, len(base), mirror_of, columns)


def _check_levels(levels) -> tuple[int, ...]:
    levels = tuple(levels)
    if not levels:
        raise ArrayError("a design needs at least one factor")
    for position, n in enumerate(levels, start=1):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
            raise ArrayError(f"factor {position}: {n!r} levels; every factor needs at least 2")
    return tuple(int(n) for n in levels)


def _normalise(runs: np.ndarray, levels) -> np.ndarray:
    """Shift symbols so the lexicographically smallest run is all zeros, then sort the runs."""
    runs = np.asarray(runs, dtype=np.int64)
    k = np.array(levels)
    smallest = runs[np.lexsort(runs.T[::-1])[0]]
    shifted = (runs - smallest) % k
    return shifted[np.lexsort(shifted.T[::-1])]


def _drop_uniform_repeats(runs: np.ndarray) -> np.ndarray:
    distinct, counts = np.unique(runs, axis=0, return_counts=True)
    if counts.max() > 1 and counts.min() == counts.max():
        return distinct  # np.unique sorts lexicographically, as _normalise does
    return runs


# Relabellings tried per design before settling for the best seen (a few hundredths of a second).
MAX_RELABELLINGS = 4096


def _relabel_for_foldover(runs: np.ndarray, levels) -> np.ndarray:
    """Relabel the symbols of columns with three or more levels (keeping 0, the baseline) so
    that the mirror images are either all new or all present already.

    In a non-regular array, or with four-level columns made of two-level ones, some mirror
    images can coincide with runs; dropping those duplicates unbalances the folded design.
    Relabelling a column changes which images coincide. Candidates per column: every
    permutation fixing 0 for up to four levels, else the identity and the reversal
    s ↦ −s mod k. They are tried in a fixed order starting with "no change"; the first with
    no partial overlap wins, failing that the one with the fewest coinciding images (the
    aliasing report then shows the small correlations that remain).
    """
    k = np.array(levels)
    multi = [j for j, s in enumerate(levels) if s > 2]
    options = [_relabellings(levels[j]) for j in multi]
    radix = np.cumprod(np.concatenate([[1], k[:-1]]))
    best, best_score = runs, None
    for choice in itertools.islice(itertools.product(*options), MAX_RELABELLINGS):
        relabelled = runs.copy()
        for j, perm in zip(multi, choice):
            relabelled[:, j] = perm[runs[:, j]]
        present = np.isin(((relabelled + 1) % k) @ radix, relabelled @ radix).sum()
        score = 0 if present in (0, len(runs)) else present
        if best_score is None or score < best_score:
            best, best_score = relabelled, score
        if score == 0:
            break
    return best[np.lexsort(best.T[::-1])]


def _relabellings(s: int) -> list[np.ndarray]:
    if s <= 4:
        return [np.array((0,) + p) for p in itertools.permutations(range(1, s))]
    return [np.arange(s), -np.arange(s) % s]


def fold(runs: np.ndarray, levels) -> tuple[np.ndarray, tuple[int, ...]]:
    """Base runs followed by the mirror images not already among them, and `mirror_of`."""
    rows = [tuple(row) for row in runs.tolist()]
    index: dict[tuple, int] = {}
    for i, row in enumerate(rows):
        index.setdefault(row, i)
    mirror_of = [-1] * len(rows)
    for i, image in enumerate(((runs + 1) % np.array(levels)).tolist()):
        image = tuple(image)
        if image not in index:
            index[image] = len(rows)
            rows.append(image)
            mirror_of.append(i)
        mirror_of[i] = index[image]
    return np.array(rows, dtype=np.int64), tuple(mirror_of)


# --- column choice --------------------------------------------------------------------------------

def _choose_columns(oa: OrthogonalArray, levels) -> list[int]:
    """Array column for each factor.

    Regular two-level arrays (all factors two-level) use the defining-relation rule of
    `_regular_columns`. Any other array: factors with more levels first, each takes the free
    column of its number of levels that adds least to the generalised word count A3 (the
    aliasing of main effects with two-factor interactions; Xu & Wu 2001, Ann. Statist. 29,
    1066–1077); ties go to the earlier column, so basic columns come first.
    """
    if oa.points is not None and set(levels) == {2}:
        return _regular_columns(oa.points, len(levels))
    order = sorted(range(len(levels)), key=lambda f: (-levels[f], f))
    contrasts = [_contrasts(oa.runs[:, j], s) for j, s in enumerate(oa.levels)]
    n = oa.n_runs
    taken: list[int] = []
    products = np.zeros((n, 0))
    assignment = {}
    for factor in order:
        free = [j for j, s in enumerate(oa.levels) if s == levels[factor] and j not in taken]
        if not free:
            raise ArrayError(f"{oa.name} has too few {levels[factor]}-level columns")
        scores = [float(np.sum((contrasts[j].T @ products) ** 2)) / n ** 2 for j in free]
        best = free[int(np.argmin(np.round(scores, 9)))]
        products = np.column_stack([products] + [_row_products(contrasts[best], contrasts[t])
                                                 for t in taken])
        taken.append(best)
        assignment[factor] = best
    return [assignment[f] for f in range(len(levels))]


def _contrasts(column: np.ndarray, s: int) -> np.ndarray:
    """Orthonormal contrasts of a balanced s-level column, scaled to mean square 1."""
    basis = np.linalg.qr(np.column_stack([np.ones(s), np.eye(s)[:, : s - 1]]))[0][:, 1:]
    return basis[column] * np.sqrt(s)


def _row_products(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a[:, :, None] * b[:, None, :]).reshape(len(a), -1)


def _regular_columns(points: Sequence[int], k: int) -> list[int]:
    """Columns of a regular 2^m array for k two-level factors, maximising resolution.

    With columns as nonzero vectors of GF(2)^m (bit masks): k ≤ m takes the basic columns
    (a full factorial, replicated); k = m + 1 adds the all-ones vector (resolution m + 1);
    up to 2^(m-1) factors takes vectors of odd weight only — no three sum to zero, so the
    resolution is at least IV (the 2^(m-1) odd-weight vectors are the foldover of a saturated
    design); beyond that even-weight vectors are added. Within a class the next column is
    the one completing the fewest words of length 3, then 4 (a greedy minimum-aberration
    heuristic; Wu & Hamada, *Experiments*, 2nd ed., 2009, §5.2).
    """
    m = max(points).bit_length()
    index = {mask: j for j, mask in enumerate(points)}
    basic = [1 << (m - 1 - i) for i in range(m)]
    if k <= m:
        return [index[mask] for mask in basic[:k]]
    if k == m + 1:
        return [index[mask] for mask in basic] + [index[(1 << m) - 1]]
    chosen = list(basic)
    pair_sums = Counter(a ^ b for i, a in enumerate(chosen) for b in chosen[:i])
    odd = [mask for mask in points if bin(mask).count("1") % 2 and mask not in basic]
    even = [mask for mask in points if not bin(mask).count("1") % 2]
    for pool in (odd, even):
        while len(chosen) < k and any(mask not in chosen for mask in pool):
            free = [mask for mask in pool if mask not in chosen]

            def words(mask):
                length3 = pair_sums[mask]
                length4 = sum(pair_sums[mask ^ other] for other in chosen) // 3
                return length3, length4

            best = min(free, key=words)  # min keeps the first of equals: points order
            pair_sums.update(best ^ other for other in chosen)
            chosen.append(best)
    return [index[mask] for mask in chosen]
