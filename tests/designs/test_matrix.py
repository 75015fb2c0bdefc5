"""design_matrix: minimum run counts, determinism, column choice and foldover."""
import numpy as np
import pytest

from designs.arrays import ArrayError, catalog, is_strength_two
from designs.matrix import _normalise, design_matrix, fold

REQUIRED = [
    ([2] * 3, 4), ([2] * 7, 8), ([2] * 11, 12), ([2] * 15, 16), ([2] * 20, 24),
    ([3] * 4, 9), ([3] * 13, 27), ([4] * 5, 16), ([2] + [3] * 7, 18),
    ([2] * 3 + [3] * 3, 36), ([7], 7),
]
SENSIBLE = [
    ([2] * 6, 8), ([2, 2], 4), ([5] * 4, 25), ([2] * 4 + [4], 8), ([4] + [2] * 12, 16),
    ([4, 4, 4] + [2] * 6, 16), ([2], 2), ([8, 2, 2, 2], 16), ([2] * 4 + [3], 12),
    ([2] * 6 + [3], 24), ([2] * 25, 28), ([2] * 30, 32), ([3, 5], 15), ([3] * 14, 54),
]


@pytest.mark.parametrize("levels, n_runs", REQUIRED + SENSIBLE,
                         ids=[" ".join(map(str, lv)) for lv, _ in REQUIRED + SENSIBLE])
def test_auto_reaches_the_minimum_run_count(levels, n_runs):
    design = design_matrix(levels)
    assert design.n_runs == n_runs == design.n_base_runs
    assert design.runs.shape == (n_runs, len(levels))
    assert is_strength_two(design.runs, levels)
    assert not design.runs[0].any()
    assert design.mirror_of == (-1,) * n_runs


def test_the_mixed_cases_name_their_arrays():
    assert design_matrix([2] + [3] * 7).array_name == "L18(2^1 3^7)"
    assert design_matrix([2] * 3 + [3] * 3).array_name == "L36(2^11 3^12)"
    assert design_matrix([7]).array_name == "full 7^1"
    assert design_matrix([4] + [2] * 12).array_name == "L16(2^12 4^1)"


def test_same_levels_give_the_same_matrix():
    first = design_matrix([2, 3, 3, 3, 2, 3], foldover=True)
    again = design_matrix([2, 3, 3, 3, 2, 3], foldover=True)
    assert np.array_equal(first.runs, again.runs)
    assert first.mirror_of == again.mirror_of and first.columns == again.columns


@pytest.mark.parametrize("name", ["L12(2^11)", "L18(2^1 3^7)", "L16(2^6 4^3)", "L27(3^13)"])
def test_row_order_of_the_source_table_does_not_matter(name):
    oa = next(a for a in catalog() if a.name == name)
    shuffled = oa.runs[np.random.default_rng(7).permutation(oa.n_runs)]
    assert np.array_equal(_normalise(shuffled, oa.levels), _normalise(oa.runs, oa.levels))
    normalised = _normalise(oa.runs, oa.levels)
    assert not normalised[0].any()
    assert [tuple(r) for r in normalised] == sorted(tuple(r) for r in normalised)


def _product_column(runs, i, j):
    return (runs[:, i] + runs[:, j]) % 2


def _resolution_three(runs):
    """True when some two-level column equals the sum mod 2 of two others (or its complement)."""
    k = runs.shape[1]
    for i in range(k):
        for j in range(i + 1, k):
            product = _product_column(runs, i, j)
            for other in range(k):
                if other not in (i, j) and len({tuple(x) for x in
                                                np.column_stack([product, runs[:, other]])}) == 2:
                    return True
    return False


@pytest.mark.parametrize("k, array", [(4, "auto"), (6, "L16"), (8, "L16"), (10, "L32"), (16, "L32")])
def test_spare_columns_give_resolution_four(k, array):
    design = design_matrix([2] * k, array=array)
    assert not _resolution_three(design.runs)
    assert _resolution_three(design_matrix([2] * (k + 1), array=array).runs) == (k in (4, 8, 16))


def test_five_factors_in_sixteen_runs_have_resolution_five():
    runs = design_matrix([2] * 5, array="L16").runs
    # the only defining word is ABCDE: the sum of all five columns is constant
    assert len(set(runs.sum(axis=1) % 2)) == 1
    for k in range(5):
        assert len(set(np.delete(runs, k, axis=1).sum(axis=1) % 2)) == 2


def test_foldover_of_a_resolution_three_design_adds_every_mirror():
    design = design_matrix([2, 2, 2], foldover=True)
    assert design.foldover and design.n_base_runs == 4 and design.n_runs == 8
    assert design.array_name == "L4(2^3)"
    for i, j in enumerate(design.mirror_of):
        assert design.mirror_of[j] == i
        assert np.all(design.runs[i] != design.runs[j])
    assert is_strength_two(design.runs, design.levels)


def test_foldover_of_a_design_that_already_holds_its_mirrors_adds_nothing():
    base = design_matrix([2] * 4)
    folded = design_matrix([2] * 4, foldover=True)
    assert np.array_equal(base.runs, folded.runs)
    assert sorted(folded.mirror_of) == list(range(8))
    assert all(folded.mirror_of[j] == i for i, j in enumerate(folded.mirror_of))


def test_k_level_mirrors_shift_every_level_by_one():
    design = design_matrix([3, 3, 3, 3], foldover=True)
    assert design.n_runs == 18
    for i in range(design.n_base_runs):
        j = design.mirror_of[i]
        assert np.array_equal(design.runs[j], (design.runs[i] + 1) % 3)
        assert design.mirror_of[j] == i


def test_mirrors_of_a_full_factorial_are_runs_already():
    design = design_matrix([7], foldover=True)
    assert design.n_runs == 7
    assert design.mirror_of == (1, 2, 3, 4, 5, 6, 0)


@pytest.mark.parametrize("levels", [[2] * 3, [2] * 7, [2] * 11, [3] * 4, [2] + [3] * 7,
                                    [2] * 3 + [3] * 3, [4] * 5, [4] + [2] * 6, [2] * 20,
                                    [2] * 5 + [3] * 2, [5] * 4, [4, 4] + [2] * 3, [4] * 3])
def test_folded_designs_stay_orthogonal_without_repeated_runs(levels):
    design = design_matrix(levels, foldover=True)
    assert len(np.unique(design.runs, axis=0)) == design.n_runs
    assert is_strength_two(design.runs, levels)
    assert design.n_runs in (design.n_base_runs, 2 * design.n_base_runs)


def test_partly_coinciding_mirrors_are_not_repeated():
    # In L12(2^4 3^1) one mirror image is a run already, whatever the labels
    design = design_matrix([2, 2, 2, 2, 3], foldover=True)
    assert design.n_base_runs == 12 and design.n_runs == 23
    assert len(np.unique(design.runs, axis=0)) == 23
    shared = [i for i in range(12) if design.mirror_of[i] < 12]
    assert len(shared) == 1
    assert np.array_equal(design.runs[design.mirror_of[shared[0]]],
                          (design.runs[shared[0]] + [1, 1, 1, 1, 1]) % [2, 2, 2, 2, 3])


def test_fold_points_at_an_existing_run_instead_of_repeating_it():
    runs, mirror_of = fold(np.array([[0, 0], [1, 1], [0, 1]]), [2, 2])
    assert runs.tolist() == [[0, 0], [1, 1], [0, 1], [1, 0]]
    assert mirror_of == (1, 0, 3, 2)


def test_a_named_array_picks_its_variant_that_fits():
    assert design_matrix([2] + [3] * 7, array="L18").array_name == "L18(2^1 3^7)"
    assert design_matrix([3] * 6 + [6], array="L18").array_name == "L18(3^6 6^1)"
    assert design_matrix([2] * 3, array="full").array_name == "full 2^3"


def test_a_named_array_larger_than_needed_drops_uniform_repeats():
    design = design_matrix([2, 2], array="L8")
    assert design.array_name == "L8(2^7), 4 distinct runs"
    assert design.n_runs == 4 and is_strength_two(design.runs, [2, 2])


@pytest.mark.parametrize("levels, message", [
    ([], "at least one factor"),
    ([2, 1], "factor 2: 1 levels; every factor needs at least 2"),
    ([2, "3"], "factor 2: '3' levels"),
    ([True, 2], "factor 1: True levels"),
])
def test_bad_levels_are_refused(levels, message):
    with pytest.raises(ArrayError, match=message):
        design_matrix(levels)


def test_named_array_that_cannot_hold_the_factors():
    with pytest.raises(ArrayError, match=r"array L18 cannot hold 8 factors with levels 2\^8"):
        design_matrix([2] * 8, array="L18")
