"""Which (query, variant pair) a rater judges next: a greedy D-optimal pair scheduler.

Variants are rows of a design matrix (level indices). In a paired comparison
of variants i and j the log-odds that i wins is u_i - u_j, with u a sum of
factor-level effects (treatment coding, first level = baseline). One judgment
of the pair adds

    w * d d^T,   d = x_i - x_j,   w = p (1 - p),   p = sigmoid(u_i - u_j)

to the Fisher information about the effects (Bradley & Terry 1952; the
conjoint/"structured" form is in Graßhoff & Schwabe, "Optimal design for the
Bradley–Terry paired comparison model", Stat. Methods Appl. 17 (2008)).
A run against its mirror image differs in every factor, so it is the most
informative pair; a pair that differs in one factor of seven carries about a
seventh of that.

`PairScheduler` adds one item at a time: among the least-used queries the
rater may still see, it takes the pair that most increases the information
about every main effect (at the current effect estimates when given): the sum
over factors of log det of the factor's information adjusted for the others,
divided by its degrees of freedom — a D-criterion in which each factor counts
the same. Among pairs within a small tolerance of the best it prefers rarely
used variants and rarely judged (query, pair) cells, so queries, variants and
sides stay balanced. It holds no database state: the rating app rebuilds it from
the tallies of its queue and history once per batch (`record_tallies`) and plans
a batch of items for no rater in particular (`choose(None)`); `plan_pairs` and
`simulate` drive it rater by rater (`record`, `record_many`, `choose(rater)`).

Mirror pairs carry no information about a two-factor interaction (for two-level
factors its difference column is the mean of the two main-effect columns), so a
design that names interactions of interest (`[analysis] interactions`) has each
of them enter the criterion as one more block, counting like a main effect: the
scheduler then mixes in pairs that differ in one of the two factors but not the
other, and pays for it in main-effect information, which `schedule_efficiency`
measures and `plan` prints (honesty-tone with tone x length: about 0.69 of the
mirror-pair bound on most main effects instead of 0.98-0.99).

Bookkeeping is linear in the history: the per-rater state is the set of cells a
rater has seen (sparse, so a million judgments by 25,000 raters cost memory in
proportion to the judgments, not raters × cells), and replaying a history groups
it by rater once instead of scanning it once per rater.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Sequence

import numpy as np

# A pair counts as "as good as the best" when its information gain is within this
# share of the best gain; among those, balance decides. Small enough that the
# mirror pairs of a foldover design keep winning over their neighbours.
GAIN_TOLERANCE = 0.02
# Starting information: a tiny ridge so log det is finite before any judgment.
RIDGE = 1e-3
# p(1-p) at p = 1/2: the information of one judgment between equal variants.
EVEN_WEIGHT = 0.25


@dataclass(frozen=True)
class ScheduledItem:
    """One judgment to collect: `left` and `right` index rows of the design matrix.

    `rater` is None for an item planned ahead for whichever rater claims it.
    """

    rater: int | None
    query: int
    left: int
    right: int


def treatment_coding(runs, levels) -> tuple[np.ndarray, list[slice]]:
    """Dummy-code a design matrix: one 0/1 column per non-baseline level.

    Returns the coded matrix (n_runs × sum(levels - 1)) and, for each factor,
    the slice of its columns.
    """
    runs = np.asarray(runs, dtype=int)
    if runs.ndim != 2 or runs.shape[1] != len(levels):
        raise ValueError(f"runs has shape {runs.shape}; expected (n_runs, {len(levels)}) for {len(levels)} factors")
    blocks, slices, start = [], [], 0
    for factor, n_levels in enumerate(levels):
        column = runs[:, factor]
        if column.min() < 0 or column.max() >= n_levels:
            raise ValueError(f"factor {factor}: level index outside 0..{n_levels - 1}")
        blocks.append((column[:, None] == np.arange(1, n_levels)[None, :]).astype(float))
        slices.append(slice(start, start + n_levels - 1))
        start += n_levels - 1
    return np.hstack(blocks), slices


def interaction_coding(runs, levels, interactions) -> np.ndarray:
    """Product columns of the treatment dummies for each (f, g) in `interactions`
    ((levels_f - 1) x (levels_g - 1) columns each, in that order)."""
    x, slices = treatment_coding(runs, levels)
    blocks = [np.einsum("ri,rj->rij", x[:, slices[f]], x[:, slices[g]]).reshape(len(x), -1) for f, g in interactions]
    return np.hstack(blocks) if blocks else np.zeros((len(x), 0))


def variant_utilities(runs, effects) -> np.ndarray:
    """Utility of each run: the sum of its levels' effects (`effects[f][level]`, log-odds)."""
    runs = np.asarray(runs, dtype=int)
    utilities = np.zeros(len(runs))
    for factor, level_effects in enumerate(effects):
        utilities += np.asarray(level_effects, dtype=float)[runs[:, factor]]
    return utilities


def pair_weight(utility_difference) -> np.ndarray:
    """p(1 - p) for the win probability implied by a utility difference."""
    p = 1.0 / (1.0 + np.exp(-np.asarray(utility_difference, dtype=float)))
    return p * (1.0 - p)


def wants_replica(n_items: int, n_replicas: int, overlap: float) -> bool:
    """Whether the next judgment should repeat another rater's item.

    `overlap` is the share of items judged by two or more raters, so replicas
    are kept at `overlap` × (items judged once or more).
    """
    unique = n_items - n_replicas
    return overlap > 0 and n_replicas < overlap * (unique + 1) - 1e-9 and unique > 0


def is_gold_slot(position: int, gold_rate: float, offset: float = 0.0) -> bool:
    """Whether the rater's item number `position` (0-based) is an attention item.

    Spreads gold items evenly at `gold_rate`; `offset` in [0, 1) shifts them so
    raters don't all meet gold at the same position.
    """
    if gold_rate <= 0:
        return False
    return math.floor((position + 1) * gold_rate + offset) > math.floor(position * gold_rate + offset)


class PairScheduler:
    """Incremental, balanced, greedy D-optimal choice of the next (query, pair).

    Parameters
    ----------
    runs : array (n_runs, n_factors) of level indices.
    levels : number of levels of each factor.
    n_queries : number of queries.
    seed : seeds the tie-breaking; the same history and seed give the same choices.
    query_cap : most items one rater may see for one query.
    effects : optional current estimates, `effects[f][level]` in log-odds; the
        information of a pair then uses p(1 - p) at those estimates.
    available : optional bool array (n_runs, n_queries): which variants have a
        rateable answer to which query.
    interactions : pairs (f, g) of factor indices whose interaction the schedule
        should make estimable; each counts in the criterion like a main effect.
    """

    def __init__(self, runs, levels, n_queries, *, seed, query_cap=1, effects=None, available=None,
                 interactions=()):
        self.runs = np.asarray(runs, dtype=int)
        n_runs = len(self.runs)
        if n_runs < 2:
            raise ValueError("a paired comparison needs at least two variants")
        if n_queries < 1:
            raise ValueError("a paired comparison needs at least one query")
        self.x, self.factor_slices = treatment_coding(self.runs, levels)
        start = self.x.shape[1]
        for f, g in interactions:
            width = (levels[f] - 1) * (levels[g] - 1)
            self.factor_slices = self.factor_slices + [slice(start, start + width)]
            start += width
        self.x = np.hstack([self.x, interaction_coding(self.runs, levels, interactions)])
        self.n_queries = n_queries
        self.query_cap = max(1, int(query_cap))
        self.rng = np.random.default_rng(seed)
        self.first, self.second = np.triu_indices(n_runs, k=1)
        self.differences = self.x[self.first] - self.x[self.second]
        if effects is None:
            self.weights = np.full(len(self.first), EVEN_WEIGHT)
        else:
            utilities = variant_utilities(self.runs, effects)
            self.weights = pair_weight(utilities[self.first] - utilities[self.second])
        if available is None:
            available = np.ones((n_runs, n_queries), dtype=bool)
        available = np.asarray(available, dtype=bool)
        if available.shape != (n_runs, n_queries):
            raise ValueError(f"available has shape {available.shape}; expected ({n_runs}, {n_queries})")
        # pair_available[q, k]: both variants of pair k have an answer to query q.
        self.pair_available = np.ascontiguousarray((available[self.first] & available[self.second]).T)
        n_params = self.x.shape[1]
        self.information = RIDGE * np.eye(n_params)
        self.inverse = np.eye(n_params) / RIDGE
        self.variant_uses = np.zeros(n_runs)
        self.side_balance = np.zeros(n_runs)  # times on the left minus times on the right
        self.query_uses = np.zeros(n_queries)
        self.cell_uses = np.zeros((n_queries, len(self.first)))
        # Per rater: the cells (query * n_pairs + pair) they have seen, and their items per query.
        self._rater_seen: dict[int, set[int]] = {}
        self._rater_query_uses: dict[int, np.ndarray] = {}

    def _rater_state(self, rater):
        if rater not in self._rater_seen:
            self._rater_seen[rater] = set()
            self._rater_query_uses[rater] = np.zeros(self.n_queries)
        return self._rater_seen[rater], self._rater_query_uses[rater]

    def record(self, item: ScheduledItem) -> None:
        """Add one item (new or replayed from the database) to the state."""
        i, j = sorted((item.left, item.right))
        k = int(self._pair_numbers(np.array([i]), np.array([j]))[0])
        d = self.differences[k]
        w = self.weights[k]
        # Sherman–Morrison keeps the inverse current in O(p^2).
        inverse_d = self.inverse @ d
        self.inverse -= w * np.outer(inverse_d, inverse_d) / (1.0 + w * d @ inverse_d)
        self.information += w * np.outer(d, d)
        self.variant_uses[[i, j]] += 1
        self.side_balance[item.left] += 1
        self.side_balance[item.right] -= 1
        self.query_uses[item.query] += 1
        self.cell_uses[item.query, k] += 1
        if item.rater is not None:
            self._mark(item.rater, item.query, k)

    def record_tallies(self, queries, left, right, counts=None) -> None:
        """Add `counts[n]` judgments of (queries[n], left[n], right[n]) to the shared state.

        No rater is marked: this is how the rating app rebuilds the state from its
        tallies (one row per distinct item, however many judgments it had), in time
        proportional to the number of distinct items.
        """
        queries, left, right = (np.asarray(a, dtype=int).reshape(-1) for a in (queries, left, right))
        if len(queries) == 0:
            return
        counts = np.ones(len(queries)) if counts is None else np.asarray(counts, dtype=float).reshape(-1)
        low, high = np.minimum(left, right), np.maximum(left, right)
        pairs = self._pair_numbers(low, high)
        weighted = self.differences[pairs] * np.sqrt(self.weights[pairs] * counts)[:, None]
        self.information += weighted.T @ weighted
        self.inverse = np.linalg.inv(self.information)
        np.add.at(self.variant_uses, low, counts)
        np.add.at(self.variant_uses, high, counts)
        np.add.at(self.side_balance, left, counts)
        np.add.at(self.side_balance, right, -counts)
        np.add.at(self.query_uses, queries, counts)
        np.add.at(self.cell_uses, (queries, pairs), counts)

    def record_many(self, items: Sequence[ScheduledItem]) -> None:
        """Replay a history at once: the shared tallies, then each rater's cells, grouped by rater once."""
        if not items:
            return
        table = np.array([(item.query, item.left, item.right) for item in items], dtype=int)
        queries, left, right = table.T
        self.record_tallies(queries, left, right)
        pairs = self._pair_numbers(np.minimum(left, right), np.maximum(left, right))
        cells = queries * len(self.first) + pairs
        by_rater: dict[int, list[int]] = {}
        for rater, cell in zip((item.rater for item in items), cells.tolist()):
            if rater is not None:
                by_rater.setdefault(rater, []).append(cell)
        for rater, rater_cells in by_rater.items():
            seen, query_uses = self._rater_state(rater)
            seen.update(rater_cells)
            np.add.at(query_uses, np.asarray(rater_cells) // len(self.first), 1)

    def mark_seen(self, item: ScheduledItem) -> None:
        """Note that a rater saw an item that brings no information here (skipped, handed on, counted elsewhere)."""
        low, high = sorted((item.left, item.right))
        self._mark(item.rater, item.query, int(self._pair_numbers(np.array([low]), np.array([high]))[0]))

    def _mark(self, rater, query, pair):
        seen, query_uses = self._rater_state(rater)
        seen.add(query * len(self.first) + pair)
        query_uses[query] += 1

    def _pair_numbers(self, low, high):
        if np.any(low == high) or np.any(low < 0) or np.any(high >= len(self.runs)):
            raise ValueError("an item must pair two different variants of the design")
        # Row-major index into the upper triangle without the diagonal.
        n = len(self.runs)
        return low * (2 * n - low - 1) // 2 + (high - low - 1)

    def feasible(self, rater) -> np.ndarray:
        """Bool (n_queries, n_pairs): cells this rater (None: any rater) may still be given."""
        if rater is None:
            return self.pair_available.copy()
        seen, query_uses = self._rater_state(rater)
        feasible = self.pair_available & (query_uses < self.query_cap)[:, None]
        if seen:
            cells = np.fromiter(seen, dtype=int, count=len(seen))
            feasible[cells // len(self.first), cells % len(self.first)] = False
        return feasible

    def choose(self, rater) -> ScheduledItem | None:
        """The next item for `rater`, or None when nothing is left for them. Does not record it.

        `rater=None` plans an item for no rater in particular (the rating app's
        queue): no per-rater constraint applies; the claiming rater's are checked
        when the item is handed out.
        """
        feasible = self.feasible(rater)
        has_pair = feasible.any(axis=1)
        if not has_pair.any():
            return None
        rater_query_uses = np.zeros(self.n_queries) if rater is None else self._rater_state(rater)[1]
        # Queries stay balanced: only the least-used ones are open for this item.
        usage = np.where(has_pair, self.query_uses, np.inf)
        queries = np.flatnonzero(usage == usage.min())
        cells = feasible[queries]
        pairs = np.flatnonzero(cells.any(axis=0))
        d = self.differences[pairs]
        gains = self._gains(d, self.weights[pairs])
        near_best = np.zeros(len(self.first), dtype=bool)
        near_best[pairs[gains >= gains.max() * (1.0 - GAIN_TOLERANCE)]] = True
        rows, ks = np.nonzero(cells & near_best[None, :])
        qs = queries[rows]
        order = np.lexsort((
            self.rng.random(len(ks)),
            rater_query_uses[qs],
            self.cell_uses[qs, ks],
            self.variant_uses[self.first[ks]] + self.variant_uses[self.second[ks]],
        ))
        query, k = int(qs[order[0]]), int(ks[order[0]])
        return self._oriented(rater, query, int(self.first[k]), int(self.second[k]))

    def _gains(self, d, w):
        """Increase of sum_f log det(S_f) / df_f for each candidate difference row of `d`.

        S_f is factor f's information adjusted for all other factors (its Schur
        complement), so the criterion is the log of the geometric mean of the
        per-factor efficiencies that `schedule_efficiency` reports: every
        factor counts the same, whatever its number of levels. Plain D-optimality
        would weight a factor by its number of parameters and starve
        two-level factors in mixed designs. After adding w d d^T,
        (M^-1)_ff loses c u_f u_f^T with u = M^-1 d and c = w / (1 + w d'M^-1 d),
        so each factor's gain is -log(1 - c u_f' S_f u_f).
        """
        u = d @ self.inverse
        c = w / (1.0 + w * np.einsum("kp,kp->k", u, d))
        total = np.zeros(len(d))
        for block in self.factor_slices:
            u_f = u[:, block]
            adjusted = np.linalg.inv(self.inverse[block, block])
            shrink = c * np.einsum("kp,pq,kq->k", u_f, adjusted, u_f)
            total -= np.log1p(-np.minimum(shrink, 1.0 - 1e-12)) / (block.stop - block.start)
        return total

    def _oriented(self, rater, query, i, j) -> ScheduledItem:
        # The variant that has been on the left more often goes right.
        if self.side_balance[i] == self.side_balance[j]:
            swap = self.rng.random() < 0.5
        else:
            swap = self.side_balance[i] > self.side_balance[j]
        left, right = (j, i) if swap else (i, j)
        return ScheduledItem(rater=rater, query=query, left=left, right=right)

    def is_open(self, rater, item: ScheduledItem) -> bool:
        """Whether `rater` may be given this item's (query, pair)."""
        low, high = sorted((item.left, item.right))
        pair = self._pair_numbers(np.array([low]), np.array([high]))[0]
        return bool(self.feasible(rater)[item.query, pair])

    def rater_query_uses(self, rater) -> np.ndarray:
        """How many items of each query `rater` has had."""
        return self._rater_state(rater)[1].copy()

    def replica_for(self, rater, items: Sequence[ScheduledItem], unreplicated: deque) -> int | None:
        """Index into `items` of the oldest other rater's item this rater may repeat.

        `unreplicated` holds the indices not repeated yet, oldest first; the one
        returned is removed from it. Items this rater may not repeat stay for
        another rater, so each call looks at only a few entries, not the history.
        """
        for position, index in enumerate(unreplicated):
            item = items[index]
            if item.rater != rater and self.is_open(rater, item):
                del unreplicated[position]
                return index
        return None


def plan_pairs(runs, levels, n_queries, n_judgments, *, seed, per_rater=40, overlap=0.0, effects=None,
               raters_per_item=2, interactions=()):
    """Schedule `n_judgments` judgments for raters who each judge `per_rater` items.

    Drives the same `PairScheduler` the rating app uses; a share `overlap` of
    items is given to `raters_per_item` - 1 further raters (all different). Returns a list of `ScheduledItem`
    (variant indices into `runs`); fewer than asked when the cells run out.
    """
    if per_rater < 1:
        raise ValueError("per_rater must be at least 1")
    scheduler = PairScheduler(
        runs, levels, n_queries, seed=seed, query_cap=math.ceil(per_rater / n_queries), effects=effects,
        interactions=interactions,
    )
    items: list[ScheduledItem] = []
    unreplicated: deque[int] = deque()  # items not repeated yet (replicas are never repeated), oldest first
    n_replicas = 0
    replicas_of = {}  # item index -> its replicas so far
    rater, rater_items, idle_raters = 0, 0, 0
    while len(items) < n_judgments:
        if rater_items == per_rater:
            rater, rater_items = rater + 1, 0
        item = None
        is_replica = False
        if wants_replica(len(items), n_replicas, overlap * (raters_per_item - 1)):
            source = scheduler.replica_for(rater, items, unreplicated)
            if source is not None:
                n_replicas += 1
                replicas_of[source] = replicas_of.get(source, 0) + 1
                if replicas_of[source] < raters_per_item - 1:
                    unreplicated.appendleft(source)  # its next rater comes next
                is_replica = True
                item = ScheduledItem(rater, items[source].query, items[source].left, items[source].right)
        if item is None:
            item = scheduler.choose(rater)
        if item is None:
            # This rater has seen every cell open to them; a fresh rater may not have.
            idle_raters += 1
            if idle_raters > 1:
                break
            rater, rater_items = rater + 1, 0
            continue
        idle_raters = 0
        scheduler.record(item)
        if not is_replica:
            unreplicated.append(len(items))
        items.append(item)
        rater_items += 1
    return items


def schedule_efficiency(runs, levels, items) -> dict[int, float]:
    """Information per judgment on each main effect, relative to the mirror-pair bound.

    For factor f the information is the Schur complement of its block in the
    information matrix of all effects plus a left/right position term (at
    p = 1/2), i.e. what is left after adjusting for every other factor. The
    bound is the information of one judgment in which the two variants always
    differ in f, spread evenly over its level pairs — what a run against its
    mirror image gives. For several levels the ratio is the geometric mean over
    the factor's parameters (D-efficiency). 1.0 is the best possible.
    """
    x, slices = treatment_coding(runs, levels)
    if not items:
        return {factor: 0.0 for factor in range(len(levels))}
    left = np.array([item.left for item in items])
    right = np.array([item.right for item in items])
    rows = np.hstack([np.ones((len(items), 1)), x[left] - x[right]])
    information = EVEN_WEIGHT * rows.T @ rows / len(items)
    efficiency = {}
    for factor, block in enumerate(slices):
        columns = np.arange(block.start, block.stop) + 1
        others = np.setdiff1d(np.arange(rows.shape[1]), columns)
        inner = information[np.ix_(columns, columns)]
        cross = information[np.ix_(columns, others)]
        adjusted = inner - cross @ np.linalg.pinv(information[np.ix_(others, others)]) @ cross.T
        efficiency[factor] = _relative_determinant(adjusted, _mirror_bound(levels[factor]))
    return efficiency


def _mirror_bound(n_levels) -> np.ndarray:
    """Per-judgment information on one factor when every pair differs in it, evenly over level pairs."""
    coded = np.vstack([np.zeros(n_levels - 1), np.eye(n_levels - 1)])
    first, second = np.triu_indices(n_levels, k=1)
    d = coded[first] - coded[second]
    return EVEN_WEIGHT * d.T @ d / len(d)


def _relative_determinant(information, bound) -> float:
    sign, logdet = np.linalg.slogdet(information)
    if sign <= 0:
        return 0.0
    _, bound_logdet = np.linalg.slogdet(bound)
    return float(np.exp((logdet - bound_logdet) / len(bound)))
