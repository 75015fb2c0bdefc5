"""Small builders shared by the analysis tests."""
import json
from pathlib import Path

import numpy as np

from evalplat.analysis.tables import VariantTable

GOLDEN = Path(__file__).parent / "golden"


def golden(name):
    return json.loads((GOLDEN / name).read_text())


def two_level_table(names=("uncertainty", "tone", "length", "format"), runs=None):
    """An L8 with four two-level factors (columns 1, 2, 3 and their parity) unless runs are given."""
    if runs is None:
        full = np.array([[int(b) for b in np.binary_repr(i, 3)] for i in range(8)])
        runs = np.column_stack([full, full.sum(axis=1) % 2])
    return VariantTable(
        ids=tuple(f"v{i + 1}" for i in range(len(runs))), factors=tuple(names),
        levels=tuple((f"{name}-base", f"{name}-alt") for name in names), runs=np.asarray(runs),
    )


def random_pairs(n_variants, n_queries, n_judgments, per_rater, rng):
    """Stand-in scheduler for statistics tests: uniformly random ordered pairs of distinct variants."""
    left = rng.integers(0, n_variants, n_judgments)
    right = (left + rng.integers(1, n_variants, n_judgments)) % n_variants
    query = rng.integers(0, n_queries, n_judgments)
    rater = np.arange(n_judgments) // per_rater
    return rater, query, left, right


def simulated_study(truth, n_queries, n_judgments, per_rater, seed, raters=None):
    """A two_level_table and judgments of random pairs by simulated raters (default settings)."""
    from evalplat.analysis.simulate import SimulatedRaters, simulate_judgments

    table = two_level_table()
    rng = np.random.default_rng(seed)
    rater, query, left, right = random_pairs(len(table.ids), n_queries, n_judgments, per_rater, rng)
    judgments, _ = simulate_judgments(table.dummies(), truth, rater, query, left, right, raters or SimulatedRaters(),
                                      rng)
    return table, judgments
