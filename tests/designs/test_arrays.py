"""The array catalog: every array is a strength-2 orthogonal array, the constructions behind
it are sound, and pydoe's tables have exactly the problems we work around."""
import itertools

import numpy as np
import pydoe
import pytest

from designs import arrays
from designs.arrays import ArrayError, catalog, find_array, galois_field, is_strength_two


@pytest.mark.parametrize("oa", catalog(), ids=lambda oa: oa.name)
def test_every_catalog_array_has_strength_two(oa):
    assert is_strength_two(oa.runs, oa.levels)
    assert oa.name == arrays.array_name(oa.n_runs, oa.levels)
    assert [len(np.unique(col)) for col in oa.runs.T] == list(oa.levels)


def test_the_strength_check_catches_an_unbalanced_pair():
    runs = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    assert is_strength_two(runs, [2, 2])
    assert not is_strength_two(runs[[0, 0, 3, 3]], [2, 2])
    assert not is_strength_two(np.array([[0, 0], [1, 1], [0, 0], [1, 1]]), [2, 2])


def test_catalog_names_are_unique_and_ordered_by_run_count():
    names = [oa.name for oa in catalog()]
    assert len(names) == len(set(names))
    sizes = [oa.n_runs for oa in catalog()]
    assert sizes == sorted(sizes)


def test_catalog_has_the_classical_arrays():
    names = {oa.name for oa in catalog()}
    for name in ["L4(2^3)", "L8(2^7)", "L8(2^4 4^1)", "L9(3^4)", "L12(2^11)", "L16(2^15)",
                 "L16(4^5)", "L16(2^12 4^1)", "L16(2^6 4^3)", "L18(2^1 3^7)", "L18(3^6 6^1)",
                 "L20(2^19)", "L24(2^23)", "L25(5^6)", "L27(3^13)", "L32(2^31)", "L32(2^4 4^9)",
                 "L36(2^11 3^12)", "L49(7^8)", "L50(2^1 5^11)", "L64(2^63)", "L64(4^21)",
                 "L81(3^40)"]:
        assert name in names


@pytest.mark.parametrize("q", [4, 8, 9, 16, 25, 27])
def test_galois_field_is_a_field(q):
    field = galois_field(q)
    elements = range(q)
    for a, b, c in itertools.product(elements, repeat=3):
        if (a * 7 + b * 3 + c) % 5:  # a deterministic sample keeps this quick
            continue
        assert field.mul[a, field.add[b, c]] == field.add[field.mul[a, b], field.mul[a, c]]
    for a in range(1, q):
        assert field.mul[a, field.inv(a)] == 1
        assert field.add[a, field.neg(a)] == 0


def test_gf4_is_not_arithmetic_mod_4():
    field = galois_field(4)
    assert field.add[1, 1] == 0  # characteristic 2
    assert sorted(field.mul[2, 1:]) == [1, 2, 3]  # 2 is invertible, unlike mod 4


def test_non_prime_power_has_no_field():
    with pytest.raises(ArrayError, match="6 is not a prime power"):
        galois_field(6)


@pytest.mark.parametrize("s, m, columns", [(2, 3, 7), (3, 3, 13), (4, 2, 5), (5, 2, 6), (4, 3, 21)])
def test_rao_hamming_array_size(s, m, columns):
    oa = arrays.rao_hamming(s, m)
    assert oa.runs.shape == (s ** m, columns)
    assert is_strength_two(oa.runs, oa.levels)


def test_merged_lines_reach_the_largest_partial_spread():
    # PG(4, 2) holds 9 disjoint lines, PG(5, 2) a spread of 21, PG(3, 3) a spread of 10
    assert len(arrays.merged_line_arrays(2, 5)) == 9
    assert len(arrays.merged_line_arrays(2, 6)) == 21
    assert len(arrays.merged_line_arrays(3, 4)) == 10


@pytest.mark.parametrize("n", [28, 36, 44])
def test_paley_arrays(n):
    oa = arrays.paley(n)
    assert oa.runs.shape == (n, n - 1)
    assert is_strength_two(oa.runs, oa.levels)


def test_replacing_a_column_needs_matching_sizes():
    with pytest.raises(ArrayError, match="cannot replace a 6-level column"):
        l18 = arrays.taguchi("L18(6^1 3^6)")
        arrays.replace_column(l18, l18.levels.index(6), arrays.rao_hamming(2, 2), "")


def test_pydoe_tables_have_the_problems_we_work_around():
    # If a pydoe release fixes these, the catalog may take the fixed tables instead.
    l64 = np.asarray(pydoe.get_orthogonal_array("L64(2^31)"), dtype=int)
    assert not is_strength_two(l64, [2] * 31)
    l27 = arrays.taguchi("L27(2^1 3^12)")
    assert l27.levels == (3,) * 13
    l36 = arrays.taguchi("L36(3^23)")
    assert l36.levels == (2,) * 11 + (3,) * 12
    assert is_strength_two(l36.runs, l36.levels)
    holding_2_3_7 = [name for name in pydoe.list_orthogonal_arrays()
                     if name.startswith("L18") and arrays.taguchi(name).holds({2: 1, 3: 7})]
    assert holding_2_3_7 == []


def test_shipped_l12_with_a_three_level_column():
    oa = arrays.shipped("L12_2^4_3^1.json")
    assert oa.name == "L12(2^4 3^1)"
    assert is_strength_two(oa.runs, oa.levels)


def test_auto_prefers_a_full_factorial_when_no_larger():
    assert find_array([2, 2]) is None
    assert find_array([7]) is None
    assert find_array([2, 2, 2]).name == "L4(2^3)"


@pytest.mark.parametrize("name, levels, message", [
    ("L8", [3, 3], r"array L8 cannot hold 2 factors with levels 3\^2: it holds L8\(2\^7\) or "
                   r"L8\(2\^4 4\^1\); a full factorial \(9 runs\) fits"),
    ("L8", [2] * 8, r"array L8 cannot hold 8 factors .* smallest that fits: L12\(2\^11\)"),
    ("L16(4^5)", [2, 2, 2], r"it holds L16\(4\^5\); smallest that fits: L4\(2\^3\)"),
    ("L99", [2], r"unknown array 'L99': use auto, full, or one of L4, L8"),
    ("big", [2], r"unknown array 'big'"),
])
def test_named_array_errors_say_what_fits(name, levels, message):
    with pytest.raises(ArrayError, match=message):
        find_array(levels, name)


def test_names_match_with_columns_in_any_order():
    assert find_array([4] + [2] * 12, "L16(4^1 2^12)").name == "L16(2^12 4^1)"
    assert find_array([2] * 3 + [3] * 3, "l36").name == "L36(2^11 3^12)"


def test_nothing_fits_says_what_the_catalog_can_hold():
    with pytest.raises(ArrayError, match=r"holds at most 63 factors of 2 levels \(L64\(2\^63\)\)"):
        find_array([2] * 70)
    with pytest.raises(ArrayError, match="no factor of 11 levels"):
        find_array([11] * 3 + [2] * 80)
