"""Which two-factor interactions a set of runs confounds with main effects, and which it can
estimate.

Method: every effect is a space of contrasts over the runs. A main effect's space is spanned by
its level indicators, centred; a two-factor interaction's by the products of the two factors'
indicators, with the intercept and both factors' own main effects projected out. The aliasing
of two effects is measured by the canonical correlations between their spaces (the cosines of
the principal angles; Björck & Golub 1973, Math. Comp. 27, 579–594): the largest one is the
*strength* — 1 when some contrast of one effect is indistinguishable from a contrast of the
other (full aliasing), between 0 and 1 for partial aliasing (±1/3 in a 12-run Plackett–Burman
design), 0 when they are orthogonal. For two one-degree-of-freedom effects it is the absolute
correlation, and the signed correlation is reported too (two-level factors coded −1 at the
baseline, +1 otherwise).

An interaction is *estimable given the main effects* when its space keeps its full dimension
after projecting out the intercept and every main effect, i.e. it could be fitted alongside all
main effects. Its *efficiency* is the mean squared sine of those principal angles (1: orthogonal
to every main effect). This is the generalisation to mixed and non-regular designs of the alias
structure of regular fractions (Wu & Hamada, *Experiments*, 2nd ed., 2009, ch. 5 and 8).
The report is computed from the runs themselves, so it reflects foldover, repeated runs and
any imbalance.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Sequence

import numpy as np

METHOD = ("canonical correlations between contrast spaces (largest = aliasing strength: "
          "1 full, 0 none); interactions taken net of their own main effects")

# Canonical correlations and sines below this are rounding noise (so above 1 - NOISE a
# correlation is full aliasing); relative singular values below RANK_TOLERANCE mean no dimension.
NOISE = 1e-6
RANK_TOLERANCE = 1e-9
# How many names a line of `lines()` lists before it says how many there are in all.
NAMES_PER_LINE = 12


@dataclass(frozen=True)
class Alias:
    """One effect that another is (partly) confounded with."""

    effect: tuple[str, ...]
    strength: float
    correlation: float | None  # signed, when both effects have one degree of freedom

    @property
    def full(self) -> bool:
        return self.strength >= 1 - NOISE

    def as_dict(self) -> dict:
        return {"effect": list(self.effect), "strength": round(self.strength, 6),
                "correlation": None if self.correlation is None else round(self.correlation, 6),
                "full": self.full}

    def label(self) -> str:
        value = (f"r = {self.correlation:+.2f}" if self.correlation is not None
                 else f"strength {self.strength:.2f}")
        return f"{'×'.join(self.effect)} ({value})"


@dataclass(frozen=True)
class MainEffect:
    factor: str
    interactions: tuple[Alias, ...]  # two-factor interactions confounded with it
    mains: tuple[Alias, ...]  # other main effects correlated with it (none in an orthogonal array)

    def as_dict(self) -> dict:
        return {"factor": self.factor, "aliased_interactions": [a.as_dict() for a in self.interactions],
                "correlated_main_effects": [a.as_dict() for a in self.mains]}


@dataclass(frozen=True)
class Interaction:
    factors: tuple[str, str]
    df: int
    estimable: bool
    efficiency: float
    mains: tuple[Alias, ...]  # main effects it is confounded with
    interactions: tuple[Alias, ...]  # other two-factor interactions it is confounded with

    @property
    def clear(self) -> bool:
        """Estimable and confounded with nothing up to two-factor interactions."""
        return self.estimable and not self.mains and not self.interactions

    def as_dict(self) -> dict:
        return {"factors": list(self.factors), "df": self.df, "estimable": self.estimable,
                "efficiency": round(self.efficiency, 6), "clear": self.clear,
                "aliased_main_effects": [a.as_dict() for a in self.mains],
                "aliased_interactions": [a.as_dict() for a in self.interactions]}


@dataclass(frozen=True)
class AliasReport:
    n_runs: int
    factors: tuple[str, ...]
    main_effects: tuple[MainEffect, ...]
    interactions: tuple[Interaction, ...]
    method: str = METHOD

    def as_dict(self) -> dict:
        return {"method": self.method, "runs": self.n_runs, "factors": list(self.factors),
                "main_effects": [m.as_dict() for m in self.main_effects],
                "interactions": [i.as_dict() for i in self.interactions],
                "lines": self.lines()}

    def lines(self) -> list[str]:
        """The report as plain lines for `manage.py plan` and the HTML report."""
        out = [f"Aliasing in {self.n_runs} runs — method: {self.method}.", "Main effects:"]
        for main in self.main_effects:
            if main.mains:
                out.append(f"  {main.factor}: correlated with main effects "
                           + _listing([a.label() for a in main.mains]))
            full = [a.label() for a in main.interactions if a.full]
            partial = [a.label() for a in main.interactions if not a.full]
            if full:
                out.append(f"  {main.factor}: fully aliased with {_listing(full)}")
            if partial:
                out.append(f"  {main.factor}: partially aliased with {_listing(partial)}")
            if not (main.mains or full or partial):
                out.append(f"  {main.factor}: clear of two-factor interactions")
        if not self.interactions:
            return out
        estimable = [i for i in self.interactions if i.estimable]
        groups = _full_alias_groups(self.interactions)
        if groups:
            # Each chain is one contrast: "estimable" one at a time, but not apart from its chain.
            chained = {name for group in groups for name in group}
            separate = len(groups) + sum(_name(i.factors) not in chained for i in estimable)
            out.append(f"Two-factor interactions: {len(self.interactions)}, of which {len(chained)} fall in "
                       f"{len(groups)} alias chains; given all main effects {separate} separate quantities are "
                       f"estimable, a chain only as the sum of its interactions")
        else:
            out.append(f"Two-factor interactions estimable given all main effects: "
                       f"{len(estimable)} of {len(self.interactions)}"
                       + (f": {_listing([_name(i.factors) for i in estimable])}" if estimable else ""))
        clear = [_name(i.factors) for i in self.interactions if i.clear]
        if clear and len(clear) < len(self.interactions):
            out.append(f"  clear of every other two-factor interaction: {_listing(clear)}")
        elif clear:
            out.append("  each one clear of every other two-factor interaction")
        for group in groups:
            out.append("  aliased with each other: " + " = ".join(group))
        others = [a for i in self.interactions for a in i.interactions if not _identical(a)]
        if others:
            largest = max(a.strength for a in others)
            out.append(f"  {len(others) // 2} other pairs of interactions confounded in part "
                       f"(largest strength {largest:.2f})")
        lost = [_name(i.factors) for i in self.interactions if not i.estimable]
        if lost:
            out.append(f"  not estimable given the main effects: {_listing(lost)}")
        return out


def _name(factors) -> str:
    return "×".join(factors)


def _listing(items: list[str]) -> str:
    if len(items) <= NAMES_PER_LINE:
        return ", ".join(items)
    return ", ".join(items[:NAMES_PER_LINE]) + f", … ({len(items)} in all)"


def _identical(alias: Alias) -> bool:
    """Two one-degree-of-freedom effects that are the same contrast up to sign. (Full aliasing
    of effects with more degrees of freedom shares only some contrasts, so it is not
    transitive and is not grouped.)"""
    return alias.full and alias.correlation is not None


def _full_alias_groups(interactions) -> list[list[str]]:
    """Interactions that are one and the same contrast, as groups of names (two or more)."""
    groups: dict[str, set[str]] = {}
    for inter in interactions:
        for alias in inter.interactions:
            if _identical(alias):
                a, b = _name(inter.factors), _name(alias.effect)
                merged = groups.get(a, {a}) | groups.get(b, {b})
                for name in merged:
                    groups[name] = merged
    order = {_name(i.factors): k for k, i in enumerate(interactions)}
    distinct = {frozenset(g) for g in groups.values()}
    return sorted((sorted(g, key=order.get) for g in distinct), key=lambda g: order[g[0]])


# --- computation ----------------------------------------------------------------------------------

def alias_report(runs, levels: Sequence[int], names: Sequence[str]) -> AliasReport:
    """Aliasing of main effects with two-factor interactions in a set of runs.

    Parameters
    ----------
    runs : array of int, n_runs × n_factors
        Level indices (0 = baseline), e.g. `DesignMatrix.runs`.
    levels : sequence of int
        Number of levels of each factor.
    names : sequence of str
        Factor names, used in the report.

    Returns
    -------
    AliasReport
        See the module docstring for the method.
    """
    runs = np.asarray(runs, dtype=np.int64)
    levels, names = list(levels), tuple(names)
    if runs.ndim != 2 or runs.shape[1] != len(levels) or len(names) != len(levels):
        raise ValueError(f"runs ({runs.shape}), levels ({len(levels)}) and names ({len(names)}) "
                         "must describe the same factors")
    n = len(runs)
    ones = np.ones((n, 1))
    dummies = [(runs[:, [f]] == np.arange(1, s)).astype(float) for f, s in enumerate(levels)]
    mains = [_basis(_residual(d, ones)) for d in dummies]
    pairs = list(itertools.combinations(range(len(levels)), 2))
    inters = []
    for f, g in pairs:
        product = (dummies[f][:, :, None] * dummies[g][:, None, :]).reshape(n, -1)
        inters.append(_basis(_residual(product, np.column_stack([ones, dummies[f], dummies[g]]))))
    main_stack, inter_stack = _stack(mains, n), _stack(inters, n)
    main_vs_inter = _block_aliases(main_stack.T @ inter_stack, mains, inters)
    inter_vs_main = {(k, f): value for (f, k), value in main_vs_inter.items()}
    main_vs_main = _block_aliases(main_stack.T @ main_stack, mains, mains)
    inter_vs_inter = _block_aliases(inter_stack.T @ inter_stack, inters, inters)
    beyond_mains = _residual(inter_stack, _basis(main_stack))
    edges = np.cumsum([0] + [q.shape[1] for q in inters])

    def aliases(found, row, candidates, effect_of):
        return tuple(Alias(effect_of(c), *found[row, c]) for c in candidates if (row, c) in found)

    def pair_names(k):
        return tuple(names[i] for i in pairs[k])

    main_effects = tuple(
        MainEffect(names[f],
                   aliases(main_vs_inter, f, [k for k, pair in enumerate(pairs) if f not in pair],
                           pair_names),
                   aliases(main_vs_main, f, [g for g in range(len(names)) if g != f],
                           lambda g: (names[g],)))
        for f in range(len(names)))
    interactions = []
    for k, (f, g) in enumerate(pairs):
        block = beyond_mains[:, edges[k]:edges[k + 1]]
        sines = np.linalg.svd(block, compute_uv=False) if block.shape[1] else np.zeros(0)
        df = (levels[f] - 1) * (levels[g] - 1)
        interactions.append(Interaction(
            (names[f], names[g]), df,
            estimable=len(sines) == df and bool(np.all(sines > NOISE)),
            efficiency=float(np.mean(sines ** 2)) if len(sines) else 0.0,
            mains=aliases(inter_vs_main, k, [h for h in range(len(names)) if h not in (f, g)],
                          lambda h: (names[h],)),
            interactions=aliases(inter_vs_inter, k, [j for j in range(len(pairs)) if j != k],
                                 pair_names)))
    return AliasReport(n, names, main_effects, tuple(interactions))


def _stack(bases, n) -> np.ndarray:
    return np.column_stack(bases) if bases else np.zeros((n, 0))


def _block_aliases(cross: np.ndarray, rows, cols) -> dict[tuple[int, int], tuple[float, float | None]]:
    """(strength, signed correlation or None) for every pair of effects whose block of the
    cross-product of orthonormal bases is not zero. Block sums of squares come from a 2-d
    cumulative sum, so only the few nonzero blocks need a singular value decomposition."""
    r_edges = np.cumsum([0] + [b.shape[1] for b in rows])
    c_edges = np.cumsum([0] + [b.shape[1] for b in cols])
    total = np.zeros((cross.shape[0] + 1, cross.shape[1] + 1))
    total[1:, 1:] = np.cumsum(np.cumsum(cross ** 2, axis=0), axis=1)
    sums = (total[np.ix_(r_edges[1:], c_edges[1:])] - total[np.ix_(r_edges[:-1], c_edges[1:])]
            - total[np.ix_(r_edges[1:], c_edges[:-1])] + total[np.ix_(r_edges[:-1], c_edges[:-1])])
    found = {}
    for i, j in zip(*np.nonzero(sums > NOISE ** 2)):
        block = cross[r_edges[i]:r_edges[i + 1], c_edges[j]:c_edges[j + 1]]
        if block.shape == (1, 1):
            r = float(np.clip(block[0, 0], -1, 1))
            found[int(i), int(j)] = (abs(r), r)
        else:
            found[int(i), int(j)] = (float(min(1.0, np.linalg.svd(block, compute_uv=False)[0])), None)
    return found


def _residual(x: np.ndarray, basis_or_columns: np.ndarray) -> np.ndarray:
    """x with its projection on the columns' span removed (least squares)."""
    if basis_or_columns.shape[1] == 0:
        return x
    coef = np.linalg.lstsq(basis_or_columns, x, rcond=None)[0]
    return x - basis_or_columns @ coef


def _basis(x: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the column span. A single column is just scaled, keeping its sign
    so that correlations between one-degree-of-freedom effects have a meaningful sign."""
    if x.shape[1] == 1:
        norm = np.linalg.norm(x)
        return x / norm if norm > RANK_TOLERANCE * np.sqrt(len(x)) else x[:, :0]
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    return u[:, s > RANK_TOLERANCE * max(1.0, s[0] if len(s) else 1.0)]
