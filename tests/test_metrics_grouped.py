"""The grouped (vectorized) JS and chi2 of lib/metrics.py: bit-identical to the one-group
functions, and equal to scipy within 1e-12, over many random groups.

Kept apart from tests/test_metrics.py (edited in parallel on another branch).
"""

import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from lib.metrics import chi2_p_value, chi2_p_value_grouped, jensen_shannon_distance, jensen_shannon_grouped


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _random_groups(seed: int, n: int):
    """Groups of 1-130 bins: zeros, empty totals, identical shares, disjoint supports, big counts."""
    r = np.random.default_rng(seed)
    refs, curs = [], []
    for i in range(n):
        k = int(r.integers(1, 40)) if i % 3 else int(r.choice([1, 2, 7, 8, 9, 10, 16, 17, 130]))
        scale = int(10 ** r.integers(0, 7))
        ref = r.integers(0, scale + 1, k) * (r.random(k) < r.random())
        cur = r.integers(0, scale + 1, k) * (r.random(k) < r.random())
        mode = i % 6
        if mode == 0:
            cur = ref * int(r.integers(1, 4))  # identical shares
        elif mode == 1:
            ref[: k // 2] = 0  # disjoint supports
            cur[k // 2 :] = 0
        elif mode == 2 and i % 12 == 2:
            ref = np.zeros(k, dtype=np.int64)  # empty reference
        refs.append(ref)
        curs.append(cur)
    return refs, curs


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grouped_js_and_chi2_equal_the_one_group_functions_bit_for_bit(seed):
    refs, curs = _random_groups(seed, 3000)
    sizes = [len(r) for r in refs]
    js = jensen_shannon_grouped(np.concatenate(refs), np.concatenate(curs), sizes)
    chi2 = chi2_p_value_grouped(np.concatenate(refs), np.concatenate(curs), sizes)
    assert js.shape == chi2.shape == (len(refs),)
    for i, (ref, cur) in enumerate(zip(refs, curs)):
        assert _same(js[i], jensen_shannon_distance(ref, cur)), (i, ref, cur)
        assert _same(chi2[i], chi2_p_value(ref, cur)), (i, ref, cur)


def test_grouped_js_equals_scipy_within_1e_12():
    refs, curs = _random_groups(7, 3000)
    js = jensen_shannon_grouped(np.concatenate(refs), np.concatenate(curs), [len(r) for r in refs])
    checked = 0
    for i, (ref, cur) in enumerate(zip(refs, curs)):
        if ref.sum() == 0 or cur.sum() == 0:
            assert math.isnan(js[i])
            continue
        expected = jensenshannon(ref / ref.sum(), cur / cur.sum(), base=2)
        if math.isnan(expected):  # scipy's sqrt of a hair-negative sum: we say 0
            assert js[i] == pytest.approx(0.0, abs=1e-7)
            continue
        assert js[i] == pytest.approx(expected, abs=1e-12)
        checked += 1
    assert checked > 1000


def test_grouped_chi2_equals_scipy_within_1e_12():
    r = np.random.default_rng(8)
    refs = [r.integers(1, 200, int(k)) for k in r.integers(2, 12, 300)]
    curs = [r.integers(1, 200, len(ref)) for ref in refs]
    got = chi2_p_value_grouped(np.concatenate(refs), np.concatenate(curs), [len(x) for x in refs])
    for i, (ref, cur) in enumerate(zip(refs, curs)):
        assert got[i] == pytest.approx(stats.chi2_contingency(np.array([ref, cur])).pvalue, abs=1e-12)


def test_grouped_edge_cases():
    # identical, disjoint, empty reference, one non-empty bin, all-zero group
    ref = [3, 1, 1, 0, 0, 0, 5, 0, 0, 0]
    cur = [6, 2, 0, 1, 4, 4, 7, 0, 0, 0]
    sizes = [2, 2, 2, 2, 2]
    js = jensen_shannon_grouped(ref, cur, sizes)
    assert js[0] == 0.0 and js[1] == pytest.approx(1.0, abs=1e-12)
    assert math.isnan(js[2]) and js[3] == pytest.approx(0.0, abs=1e-12) and math.isnan(js[4])
    chi2 = chi2_p_value_grouped(ref, cur, sizes)
    assert chi2[0] == pytest.approx(1.0) and chi2[1] == chi2_p_value([1, 0], [0, 1])
    assert math.isnan(chi2[2]) and chi2[3] == 1.0 and math.isnan(chi2[4])
    assert jensen_shannon_grouped([], [], []).shape == (0,)
    assert chi2_p_value_grouped([], [], []).shape == (0,)
