"""Drift metrics: PSI, Jensen-Shannon, chi-squared p-value, KS, normalised Wasserstein.

PSI, JS and chi² work on aligned bin counts (what the hourly profiles store); KS and
Wasserstein need raw values. The *_grouped forms compute many windows at once.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lib.metrics._common import FLOOR, _finite, _shares


def population_stability_index(ref_counts, cur_counts) -> float:
    """Population stability index of two count vectors over the same bins.

    PSI = Σ (c − r) · ln(c / r), where r and c are the reference and current shares of each
    bin, each floored at ``FLOOR`` after the shares are computed and not renormalized.

    Range [0, ∞); best value 0 (same distribution). Common reading: < 0.1 stable, ≥ 0.25
    a major shift.

    Parameters
    ----------
    ref_counts, cur_counts : array-like of int
        Counts per bin, aligned (same bins, same order).

    Returns
    -------
    psi : float
        nan when either total is 0.

    Examples
    --------
    >>> round(population_stability_index([50, 50], [25, 75]), 6)  # 0.25 * ln 3
    0.274653
    >>> population_stability_index([10, 10], [10, 10])
    0.0
    """
    shares = _shares(ref_counts, cur_counts)
    if shares is None:
        return math.nan
    ref, cur = (np.maximum(share_, FLOOR) for share_ in shares)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def jensen_shannon_distance(ref_counts, cur_counts) -> float:
    """Jensen–Shannon distance (base 2) between the raw shares of two count vectors.

    ``scipy.spatial.distance.jensenshannon(r, c, base=2)`` on unfloored shares.

    Range [0, 1]; best value 0 (same distribution), 1 for disjoint supports.

    Parameters
    ----------
    ref_counts, cur_counts : array-like of int
        Counts per bin, aligned.

    Returns
    -------
    distance : float
        nan when either total is 0.

    Examples
    --------
    >>> jensen_shannon_distance([1, 0], [0, 1])
    1.0
    >>> jensen_shannon_distance([3, 1], [6, 2])
    0.0
    """
    shares = _shares(ref_counts, cur_counts)
    if shares is None:
        return math.nan
    # scipy takes the sqrt of a sum that rounding can push a hair below 0 for near-identical
    # shares; the divergence is never negative, so that nan means 0.
    # The steps of scipy.spatial.distance.jensenshannon, in its order (tests pin the two
    # equal), without its argument handling: judging a fleet calls this ~10,000 times.
    from scipy.special import rel_entr  # lazy: scipy costs ~0.6 s to import

    p, q = shares
    p = p / p.sum()
    q = q / q.sum()
    m = (p + q) / 2.0
    js = (rel_entr(p, m).sum() + rel_entr(q, m).sum()) / np.log(2)
    with np.errstate(invalid="ignore"):
        distance = float(np.sqrt(js / 2.0))
    return 0.0 if math.isnan(distance) else distance


def chi2_p_value(ref_counts, cur_counts) -> float:
    """p-value of the chi-squared test that reference and current share one distribution.

    ``scipy.stats.chi2_contingency([ref, cur])`` with its default arguments (so a 2×2 table
    gets Yates' correction), on the bins that are non-empty on either side.

    Range [0, 1]; best value 1 (no evidence of drift); small values mean drift.

    Parameters
    ----------
    ref_counts, cur_counts : array-like of int
        Counts per bin, aligned.

    Returns
    -------
    p_value : float
        1.0 when fewer than two bins are non-empty (nothing to compare); nan when either
        total is 0.

    Examples
    --------
    >>> chi2_p_value([30, 30], [30, 30])
    1.0
    >>> chi2_p_value([5, 0], [7, 0])
    1.0
    >>> round(chi2_p_value([10, 0], [0, 10]), 6)
    5.7e-05
    """
    ref = np.asarray(ref_counts, dtype=float)
    cur = np.asarray(cur_counts, dtype=float)
    if ref.sum() == 0 or cur.sum() == 0:
        return math.nan
    non_empty = (ref > 0) | (cur > 0)
    if non_empty.sum() < 2:
        return 1.0
    # scipy.stats.chi2_contingency's computation (expected frequencies from the margins,
    # Yates' correction when dof == 1, Pearson's statistic, chi2.sf), without the overhead of
    # its generic wrapper (~1 ms a call; a fleet has thousands of categorical features).
    from scipy.special import chdtrc

    observed = np.vstack([ref[non_empty], cur[non_empty]])
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    dof = observed.shape[1] - 1
    if dof == 1:
        direction = np.sign(expected - observed)
        observed = observed + np.minimum(0.5, np.abs(expected - observed)) * direction
    statistic = float(((observed - expected) ** 2 / expected).sum())
    return float(chdtrc(dof, statistic))


def ks_statistic(reference, current) -> float:
    """Two-sample Kolmogorov–Smirnov statistic of the raw numeric values.

    ``scipy.stats.ks_2samp(ref, cur).statistic`` on the finite values (NULL/NaN, ±inf dropped).

    Range [0, 1]; best value 0 (same empirical distribution).

    Returns
    -------
    statistic : float
        nan when either side has no finite value.

    Examples
    --------
    >>> ks_statistic([1, 2, 3], [4, 5, 6])
    1.0
    >>> ks_statistic([1, 2, float("nan")], [2, 1])
    0.0
    """
    ref, cur = _finite(reference), _finite(current)
    if ref.size == 0 or cur.size == 0:
        return math.nan
    # The statistic is the same for every method; "asymp" skips the exact p-value, which is
    # slow for samples up to 10 000 and warns when it fails. The p-value we discard divides
    # by zero for one-row samples, hence the errstate.
    with np.errstate(divide="ignore", invalid="ignore"):
        from scipy import stats

        return float(stats.ks_2samp(ref, cur, method="asymp").statistic)


def normed_wasserstein(reference, current) -> float:
    """Wasserstein distance of the raw values, in units of the reference's standard deviation.

    ``scipy.stats.wasserstein_distance(ref, cur) / np.std(ref)`` (population std, ddof=0)
    on the finite values; 0.0 when that deviation is 0 (a constant reference).

    Range [0, ∞); best value 0.

    Returns
    -------
    distance : float
        nan when either side has no finite value.

    Examples
    --------
    >>> normed_wasserstein([0, 2], [1, 3])  # moved by 1, reference std 1
    1.0
    >>> normed_wasserstein([4, 4], [9])
    0.0
    """
    ref, cur = _finite(reference), _finite(current)
    if ref.size == 0 or cur.size == 0:
        return math.nan
    std = np.std(ref)
    if std == 0:
        return 0.0
    from scipy import stats

    return float(stats.wasserstein_distance(ref, cur) / std)


def psi_grouped(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """PSI of many groups at once, from one row per (group, bin).

    Identical (to rounding) to ``population_stability_index`` applied group by group, but
    vectorized: the fleet view judges every (model, feature) from profile rows, and a Python
    loop over groups would dominate its cost.

    Parameters
    ----------
    frame : DataFrame
        Columns ``keys`` identify the group; ``ref`` and ``cur`` hold the bin's counts.
    keys : list of str
        The grouping columns.

    Returns
    -------
    psi : Series
        One value per group, indexed by ``keys`` (sorted); nan where the group's reference
        or current total is 0.

    Examples
    --------
    >>> frame = pd.DataFrame({"feature": ["x", "x", "y", "y"],
    ...                       "ref": [50, 50, 10, 10], "cur": [25, 75, 10, 10]})
    >>> psi_grouped(frame, ["feature"]).round(6).to_dict()
    {'x': 0.274653, 'y': 0.0}
    """
    grouped = frame.groupby(keys, sort=True, observed=True, dropna=False)
    codes = grouped.ngroup().to_numpy()
    n_groups = grouped.ngroups
    ref = frame["ref"].to_numpy(dtype=float)
    cur = frame["cur"].to_numpy(dtype=float)
    ref_total = np.bincount(codes, weights=ref, minlength=n_groups)
    cur_total = np.bincount(codes, weights=cur, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):  # empty groups become nan below
        ref_share = np.maximum(ref / ref_total[codes], FLOOR)
        cur_share = np.maximum(cur / cur_total[codes], FLOOR)
        terms = (cur_share - ref_share) * np.log(cur_share / ref_share)
    psi = np.bincount(codes, weights=terms, minlength=n_groups)
    psi[(ref_total == 0) | (cur_total == 0)] = np.nan
    # ngroup numbers groups in the same sorted order that size() lists them
    return pd.Series(psi, index=grouped.size().index, name="psi")


def _segments_by_length(sizes: np.ndarray):
    """For each distinct segment length L: (segment numbers, (n, L) matrix of element positions).

    Segments are consecutive runs of ``sizes[i]`` elements. Reducing a C-contiguous row of L
    elements (``sum(axis=1)``) runs numpy's pairwise summation exactly as on a 1-D array of L
    elements, so per-row results equal the one-group-at-a-time functions bit for bit.
    """
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    for length in np.unique(sizes):
        which = np.flatnonzero(sizes == length)
        yield which, starts[which, None] + np.arange(length)


def jensen_shannon_grouped(ref_counts, cur_counts, sizes) -> np.ndarray:
    """``jensen_shannon_distance`` of many groups at once, bit-identical to it group by group.

    Parameters
    ----------
    ref_counts, cur_counts : array-like of int
        Counts per bin, aligned; the groups' bins one after the other.
    sizes : array-like of int
        Number of bins of each group, in order (each ≥ 1; they sum to the number of bins).

    Returns
    -------
    distance : ndarray of float
        One value per group; nan where the group's reference or current total is 0.

    Examples
    --------
    >>> jensen_shannon_grouped([1, 0, 3, 1], [0, 1, 6, 2], [2, 2]).tolist()
    [1.0, 0.0]
    """
    from scipy.special import rel_entr  # lazy, as in jensen_shannon_distance

    ref_all = np.asarray(ref_counts, dtype=float)
    cur_all = np.asarray(cur_counts, dtype=float)
    sizes = np.asarray(sizes, dtype=np.int64)
    out = np.full(len(sizes), np.nan)
    log2 = np.log(2)
    for which, pos in _segments_by_length(sizes):
        ref, cur = ref_all[pos], cur_all[pos]
        ref_total, cur_total = ref.sum(axis=1, keepdims=True), cur.sum(axis=1, keepdims=True)
        ok = ((ref_total != 0) & (cur_total != 0))[:, 0]
        if not ok.all():
            which, ref, cur, ref_total, cur_total = which[ok], ref[ok], cur[ok], ref_total[ok], cur_total[ok]
        # the steps of jensen_shannon_distance, row by row
        p, q = ref / ref_total, cur / cur_total
        p = p / p.sum(axis=1, keepdims=True)
        q = q / q.sum(axis=1, keepdims=True)
        m = (p + q) / 2.0
        js = (rel_entr(p, m).sum(axis=1) + rel_entr(q, m).sum(axis=1)) / log2
        with np.errstate(invalid="ignore"):
            distance = np.sqrt(js / 2.0)
        out[which] = np.where(np.isnan(distance), 0.0, distance)
    return out


def chi2_p_value_grouped(ref_counts, cur_counts, sizes) -> np.ndarray:
    """``chi2_p_value`` of many groups at once, bit-identical to it group by group.

    Parameters and layout as in :func:`jensen_shannon_grouped`.

    Returns
    -------
    p_value : ndarray of float
        One value per group: 1.0 where fewer than two bins are non-empty; nan where the
        group's reference or current total is 0.

    Examples
    --------
    >>> chi2_p_value_grouped([30, 30, 5, 0], [30, 30, 7, 0], [2, 2]).tolist()
    [1.0, 1.0]
    """
    ref_all = np.asarray(ref_counts, dtype=float)
    cur_all = np.asarray(cur_counts, dtype=float)
    sizes = np.asarray(sizes, dtype=np.int64)
    n_groups = len(sizes)
    group = np.repeat(np.arange(n_groups), sizes)
    ref_total = np.bincount(group, weights=ref_all, minlength=n_groups)  # integer counts: exact
    cur_total = np.bincount(group, weights=cur_all, minlength=n_groups)
    keep = (ref_all > 0) | (cur_all > 0)
    non_empty = np.bincount(group[keep], minlength=n_groups)
    out = np.where(non_empty < 2, 1.0, np.nan)
    out[(ref_total == 0) | (cur_total == 0)] = np.nan
    todo = (non_empty >= 2) & (ref_total != 0) & (cur_total != 0)
    if not todo.any():
        return out
    from scipy.special import chdtrc  # lazy, as in chi2_p_value

    # the non-empty bins of the groups to test, each group's still consecutive
    take = keep & todo[group]
    ref_ne, cur_ne, sizes_ne = ref_all[take], cur_all[take], non_empty[todo]
    groups = np.flatnonzero(todo)
    for which, pos in _segments_by_length(sizes_ne):
        ref, cur = ref_ne[pos], cur_ne[pos]
        # the steps of chi2_p_value on the 2 × k table [ref, cur], row by row
        observed = np.concatenate([ref, cur], axis=1)  # each row: the table, flattened
        row_sums = np.concatenate(
            [
                np.broadcast_to(ref.sum(axis=1, keepdims=True), ref.shape),
                np.broadcast_to(cur.sum(axis=1, keepdims=True), cur.shape),
            ],
            axis=1,
        )
        col_sums = np.concatenate([ref + cur, ref + cur], axis=1)
        total = observed.sum(axis=1, keepdims=True)
        expected = row_sums * col_sums / total
        dof = pos.shape[1] - 1
        if dof == 1:
            direction = np.sign(expected - observed)
            observed = observed + np.minimum(0.5, np.abs(expected - observed)) * direction
        statistic = ((observed - expected) ** 2 / expected).sum(axis=1)
        out[groups[which]] = chdtrc(dof, statistic)
    return out
