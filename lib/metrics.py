"""Drift, data-quality and performance metrics as pure functions.

Every definition here is the one in DESIGN.md "Metric definitions" and "Precise rules",
and the tests pin each against scipy / scikit-learn. Distribution metrics work on bin counts
(which the hourly profiles store), except KS and Wasserstein, which need raw values.
Performance metrics work on aggregates (confusion counts, per-score label counts, sums), so
that judging never has to read raw rows.

This module does not read data, open DuckDB, know about Streamlit, or hold thresholds: the
policy module turns values into stoplight statuses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

FLOOR = 0.0001
"""Smallest share a PSI bin may have; keeps ln(c / r) finite for empty bins."""

# Below this fraction of Σy², a total sum of squares computed as Σy² − (Σy)²/n is rounding
# noise from the cancellation, not variance: treat it as 0 so R² is nan, not a huge number.
_TSS_RELATIVE_TOLERANCE = 1e-10


# ---------------------------------------------------------------- helpers


def _finite(values) -> np.ndarray:
    """Return the finite values of a 1-D input as float64; NULL/NaN and ±inf are dropped."""
    if hasattr(values, "to_numpy"):  # pandas: nullable dtypes need na_value to convert
        array = values.to_numpy(dtype=float, na_value=np.nan)
    else:
        array = np.asarray(values, dtype=float)  # None becomes NaN here
    array = array.ravel()
    return array[np.isfinite(array)]


def _shares(ref_counts, cur_counts):
    """Return (ref shares, cur shares) as float arrays, or None when either total is 0."""
    ref = np.asarray(ref_counts, dtype=float)
    cur = np.asarray(cur_counts, dtype=float)
    ref_total, cur_total = ref.sum(), cur.sum()
    if ref_total == 0 or cur_total == 0:
        return None
    return ref / ref_total, cur / cur_total


def _divide(numerator, denominator) -> float:
    """numerator / denominator, 0.0 on a zero denominator (sklearn's zero_division=0)."""
    return float(numerator / denominator) if denominator else 0.0


# ---------------------------------------------------------------- bins


def decile_edges(reference) -> np.ndarray:
    """Bin edges of a numeric feature: the distinct deciles of its reference values.

    Exactly ``np.unique(np.quantile(ref, np.arange(1, 10) / 10))`` (method "linear") on the
    reference's finite values (NULL/NaN and ±inf are left out). Computed here rather than in
    SQL because an SQL quantile can differ in the last bit and move a value sitting on an
    edge into the next bin.

    Parameters
    ----------
    reference : array-like of float
        The reference values of one feature.

    Returns
    -------
    edges : ndarray of float
        Between 0 and 9 sorted, distinct edges; empty when there is no finite value.
        A feature with many repeated values has fewer than 9 edges.

    Examples
    --------
    >>> decile_edges(np.arange(11)).tolist()
    [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    >>> decile_edges([5, 5, 5, None]).tolist()
    [5.0]
    """
    values = _finite(reference)
    if values.size == 0:
        return np.array([], dtype=float)
    return np.unique(np.quantile(values, np.arange(1, 10) / 10))


def numeric_bins(values, edges) -> np.ndarray:
    """Bin index of each value: the number of edges less than or equal to it.

    The caller passes finite values only (NULL and ±inf belong to no bin).

    Examples
    --------
    >>> numeric_bins([0.5, 1.0, 2.5], [1.0, 2.0]).tolist()
    [0, 1, 2]
    """
    return np.searchsorted(np.asarray(edges, dtype=float), np.asarray(values, dtype=float),
                           side="right")


def numeric_bin_labels(edges: list[float], n_bins: int) -> list[str]:
    """Labels of the bins that `numpy.searchsorted(edges, x, side="right")` makes.

    >>> numeric_bin_labels([1.0, 2.5], 3)
    ['< 1', '[1, 2.5)', '≥ 2.5']
    """
    if not edges:
        return ["all"] * n_bins
    labels = [f"< {edges[0]:.4g}"] + [f"[{a:.4g}, {b:.4g})" for a, b in zip(edges, edges[1:])] + [f"≥ {edges[-1]:.4g}"]
    return labels[:n_bins] + [f"bin {i}" for i in range(len(labels), n_bins)]


def bin_counts_numeric(values, edges) -> np.ndarray:
    """Count the values in each of the ``len(edges) + 1`` bins, ignoring NaN and ±inf.

    Examples
    --------
    >>> bin_counts_numeric([0.5, 1.0, 2.5, float("nan"), float("inf")], [1.0, 2.0]).tolist()
    [1, 1, 1]
    """
    edges = np.asarray(edges, dtype=float)
    return np.bincount(numeric_bins(_finite(values), edges), minlength=edges.size + 1)


def categorical_counts(ref_categories: list[str], ref_counts,
                       cur_value_counts: dict[str, int]) -> tuple[np.ndarray, np.ndarray,
                                                                  dict[str, int]]:
    """Align reference and current counts of a categorical feature on common bins.

    One bin per reference category, in ``ref_categories`` order, then one bin per distinct
    current value that is not a reference category, sorted by value. The reference count of
    an unseen bin is 0. Current values with a count of 0 get no bin (they did not occur).

    Parameters
    ----------
    ref_categories : list of str
        The reference's distinct non-NULL values.
    ref_counts : array-like of int
        How often each of ``ref_categories`` occurs in the reference.
    cur_value_counts : dict of str to int
        How often each non-NULL value occurs in the current window.

    Returns
    -------
    ref_aligned, cur_aligned : ndarray of int
        Counts per bin, same length.
    unseen : dict of str to int
        The current values never seen in the reference, with their counts, sorted by value.

    Examples
    --------
    >>> r, c, unseen = categorical_counts(["a", "b"], [3, 1], {"b": 2, "z": 1, "c": 4})
    >>> r.tolist(), c.tolist(), unseen
    ([3, 1, 0, 0], [0, 2, 4, 1], {'c': 4, 'z': 1})
    """
    known = set(ref_categories)
    unseen = {value: int(count) for value, count in sorted(cur_value_counts.items())
              if value not in known and count > 0}
    ref_aligned = np.concatenate([np.asarray(ref_counts, dtype=np.int64),
                                  np.zeros(len(unseen), dtype=np.int64)])
    cur_aligned = np.array([cur_value_counts.get(category, 0) for category in ref_categories]
                           + list(unseen.values()), dtype=np.int64)
    return ref_aligned, cur_aligned, unseen


# ---------------------------------------------------------------- drift


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
    ref_total = np.bincount(group, weights=ref_all, minlength=n_groups)   # integer counts: exact
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
        observed = np.concatenate([ref, cur], axis=1)          # each row: the table, flattened
        row_sums = np.concatenate([np.broadcast_to(ref.sum(axis=1, keepdims=True), ref.shape),
                                   np.broadcast_to(cur.sum(axis=1, keepdims=True), cur.shape)], axis=1)
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


# ---------------------------------------------------------------- data quality


def share(numerator, denominator) -> float:
    """numerator / denominator as a float; nan when the denominator is 0.

    Examples
    --------
    >>> share(1, 4)
    0.25
    >>> share(0, 0)
    nan
    """
    return float(numerator / denominator) if denominator else math.nan


def missing_share(n_null, n_rows) -> float:
    """Share of rows whose value is NULL. Range [0, 1]; best value 0.

    Examples
    --------
    >>> missing_share(5, 100)
    0.05
    """
    return share(n_null, n_rows)


def unseen_share(n_unseen, n_nonnull) -> float:
    """Share of non-NULL rows whose value is not a reference category. Range [0, 1]; best 0.

    Examples
    --------
    >>> unseen_share(1, 1000)
    0.001
    """
    return share(n_unseen, n_nonnull)


def out_of_range_share(n_out, n_nonnull) -> float:
    """Share of non-NULL values strictly outside the reference's [min, max]. Range [0, 1]; best 0.

    Examples
    --------
    >>> out_of_range_share(3, 300)
    0.01
    """
    return share(n_out, n_nonnull)


# ---------------------------------------------------------------- performance


def primary_metric_name(task: str, has_score: bool) -> str:
    """Name of the metric the performance check judges for a task.

    Examples
    --------
    >>> primary_metric_name("binary_classification", True)
    'roc_auc'
    >>> primary_metric_name("regression", False)
    'rmse'
    """
    if task == "binary_classification":
        return "roc_auc" if has_score else "f1"
    if task == "multiclass_classification":
        return "macro_f1"
    if task == "regression":
        return "rmse"
    raise ValueError(f"unknown task {task!r}")


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of the named registry metric is better.

    Examples
    --------
    >>> higher_is_better("roc_auc"), higher_is_better("rmse")
    (True, False)
    """
    return METRICS[metric].direction == "higher_is_better"


def performance_loss(metric, reference_value, current_value) -> float:
    """Relative loss of a performance metric from the reference to the current window.

    ``(ref − cur) / ref`` for higher-is-better metrics, ``(cur − ref) / ref`` for errors
    (rmse, mae). Positive means worse. The relative loss divides by the signed ``ref``,
    as DESIGN.md defines it; it is meant for the primary metrics, which are positive.

    Range (−∞, ∞); best value ≤ 0 (no loss).

    Returns
    -------
    loss : float
        nan when ``ref`` is 0 or either value is nan (the check is then grey).

    Examples
    --------
    >>> round(performance_loss("roc_auc", 0.80, 0.72), 6)
    0.1
    >>> round(performance_loss("rmse", 2.0, 2.5), 6)
    0.25
    """
    ref, cur = float(reference_value), float(current_value)
    if math.isnan(ref) or math.isnan(cur) or ref == 0:
        return math.nan
    return (ref - cur) / ref if higher_is_better(metric) else (cur - ref) / ref


def classification_metrics_from_confusion(labels: list[str], confusion: np.ndarray, *,
                                          positive_class: str | None) -> dict:
    """Accuracy, precision, recall and F1 from confusion counts, as scikit-learn computes them.

    Counts-based because the profiles store confusion counts, not rows; equal to
    ``sklearn.metrics`` on the expanded arrays with ``zero_division=0``.

    Parameters
    ----------
    labels : list of str
        The classes (true and predicted), as text; index of the rows and columns.
    confusion : ndarray of shape (k, k)
        ``confusion[i, j]`` = rows whose true label is ``labels[i]`` and prediction ``labels[j]``.
    positive_class : str or None
        Binary task: the positive class; its precision, recall and F1 are returned (all 0 when
        it does not occur, as scikit-learn gives). None: multiclass, macro averages over the
        classes present in the true labels or predictions.

    Returns
    -------
    metrics : dict of str to float
        ``accuracy`` and either ``precision``, ``recall``, ``f1`` (binary) or ``macro_f1``,
        ``macro_precision``, ``macro_recall`` (multiclass). Each in [0, 1], best 1; all nan
        when the matrix is empty.

    Examples
    --------
    >>> m = classification_metrics_from_confusion(["0", "1"], np.array([[3, 1], [2, 4]]),
    ...                                           positive_class="1")
    >>> {k: round(v, 6) for k, v in m.items()}
    {'accuracy': 0.7, 'precision': 0.8, 'recall': 0.666667, 'f1': 0.727273}
    """
    cm = np.asarray(confusion, dtype=float)
    true_pos = np.diag(cm)
    true_sum = cm.sum(axis=1)  # rows per true class
    pred_sum = cm.sum(axis=0)  # rows per predicted class
    total = cm.sum()
    if positive_class is not None:
        names = ("accuracy", "precision", "recall", "f1")
    else:
        names = ("accuracy", "macro_f1", "macro_precision", "macro_recall")
    if total == 0:
        return dict.fromkeys(names, math.nan)
    accuracy = float(true_pos.sum() / total)

    if positive_class is not None:
        if positive_class in labels:
            i = labels.index(positive_class)
            tp, n_true, n_pred = true_pos[i], true_sum[i], pred_sum[i]
        else:
            tp = n_true = n_pred = 0.0
        return {"accuracy": accuracy,
                "precision": _divide(tp, n_pred),
                "recall": _divide(tp, n_true),
                "f1": _divide(2 * tp, n_true + n_pred)}  # = 2tp / (2tp + fp + fn)

    present = (true_sum + pred_sum) > 0  # sklearn averages over y_true ∪ y_pred only
    tp, n_true, n_pred = true_pos[present], true_sum[present], pred_sum[present]
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(n_pred > 0, tp / n_pred, 0.0)
        recall = np.where(n_true > 0, tp / n_true, 0.0)
        f1 = 2 * tp / (n_true + n_pred)  # denominator > 0 for every present class
    return {"accuracy": accuracy,
            "macro_f1": float(np.mean(f1)),
            "macro_precision": float(np.mean(precision)),
            "macro_recall": float(np.mean(recall))}


def roc_auc_from_counts(scores, n_pos, n_neg) -> float:
    """Exact ROC AUC from how many positives and negatives had each score value.

    AUC = P(score of a random positive > that of a random negative), ties counting 1/2; equal
    to ``sklearn.metrics.roc_auc_score`` on the expanded arrays. Repeated score values in
    ``scores`` are merged.

    Range [0, 1]; best value 1; 0.5 is chance.

    Parameters
    ----------
    scores : array-like of float
        Score values.
    n_pos, n_neg : array-like of int
        Positives and negatives that had each score.

    Returns
    -------
    auc : float
        nan when there is no positive or no negative.

    Examples
    --------
    >>> roc_auc_from_counts([0.1, 0.9], [0, 3], [2, 0])
    1.0
    >>> roc_auc_from_counts([0.1, 0.5, 0.9], [0, 1, 1], [1, 1, 0])  # one tie
    0.875
    """
    distinct, index = np.unique(np.asarray(scores), return_inverse=True)
    pos = np.bincount(index, weights=np.asarray(n_pos, dtype=float), minlength=distinct.size)
    neg = np.bincount(index, weights=np.asarray(n_neg, dtype=float), minlength=distinct.size)
    total_pos, total_neg = pos.sum(), neg.sum()
    if total_pos == 0 or total_neg == 0:
        return math.nan
    neg_below = np.cumsum(neg) - neg  # negatives with a strictly lower score
    return float(np.sum(pos * (neg_below + 0.5 * neg)) / (total_pos * total_neg))


def regression_metrics_from_sums(n, sse, sae, sum_y, sum_y2) -> dict:
    """RMSE, MAE and R² from the sums that the profiles store.

    rmse = √(sse / n), mae = sae / n, r2 = 1 − sse / (Σy² − (Σy)² / n); equal to scikit-learn's
    ``root_mean_squared_error``, ``mean_absolute_error`` and ``r2_score`` on the rows.

    Parameters
    ----------
    n : int
        Labelled rows.
    sse, sae : float
        Σ (y − ŷ)² and Σ |y − ŷ|.
    sum_y, sum_y2 : float
        Σ y and Σ y² of the labels.

    Returns
    -------
    metrics : dict
        ``rmse`` and ``mae`` in [0, ∞), best 0; ``r2`` in (−∞, 1], best 1. All nan when
        ``n`` is 0; ``r2`` nan when the labels are constant (total sum of squares 0;
        scikit-learn would return 0 or 1 there, which says nothing about the model).

    Examples
    --------
    >>> m = regression_metrics_from_sums(4, sse=4.0, sae=4.0, sum_y=10.0, sum_y2=30.0)
    >>> {k: round(v, 6) for k, v in m.items()}  # y = 1, 2, 3, 4: TSS 5
    {'rmse': 1.0, 'mae': 1.0, 'r2': 0.2}
    """
    if n == 0:
        return {"rmse": math.nan, "mae": math.nan, "r2": math.nan}
    total_sum_squares = sum_y2 - sum_y * sum_y / n
    constant = total_sum_squares <= _TSS_RELATIVE_TOLERANCE * abs(sum_y2)
    return {"rmse": math.sqrt(sse / n),
            "mae": float(sae / n),
            "r2": math.nan if constant else float(1 - sse / total_sum_squares)}


# ---------------------------------------------------------------- registry


def _sklearn(name: str, **options) -> Callable:
    """A scikit-learn metric imported on first call: importing sklearn costs ~1 s, and the
    fleet evaluation (a cold command-line process) never needs it."""
    def call(*args, **kwargs):
        import sklearn.metrics as skm
        return getattr(skm, name)(*args, **options, **kwargs)
    call.__name__ = name
    return call


@dataclass(frozen=True)
class MetricInfo:
    """What one metric is, for code and tests that iterate over all of them.

    Attributes
    ----------
    name : str
        Key in ``METRICS`` and in reports.
    function : callable
        Drift metrics: this module's function; it takes aligned bin counts
        ``(ref_counts, cur_counts)``, or raw values ``(reference, current)`` when
        ``needs_raw``. Performance metrics: the scikit-learn function to call on raw arrays
        ``(y_true, y_pred_or_score)``; judging uses the counts-based functions above.
    kinds : tuple of str
        Column kinds it applies to (``"numeric"``, ``"categorical"``): the feature's kind for
        drift metrics, the label's kind for performance metrics.
    direction : str
        ``"lower_is_better"`` or ``"higher_is_better"``.
    best : float
        The value for no drift / a perfect model.
    needs_raw : bool
        True when the stored hourly profiles are not enough and raw rows must be read.
    description : str
        One line for tooltips and docs.
    """

    name: str
    function: Callable
    kinds: tuple[str, ...]
    direction: str
    best: float
    needs_raw: bool
    description: str


_BOTH = ("numeric", "categorical")
_LOWER, _HIGHER = "lower_is_better", "higher_is_better"

METRICS: dict[str, MetricInfo] = {info.name: info for info in [
    MetricInfo("psi", population_stability_index, _BOTH, _LOWER, 0.0, False,
               "Population stability index over the reference bins, shares floored at 0.0001"),
    MetricInfo("js", jensen_shannon_distance, _BOTH, _LOWER, 0.0, False,
               "Jensen-Shannon distance (base 2) of the bin shares"),
    MetricInfo("chi2_p", chi2_p_value, ("categorical",), _HIGHER, 1.0, False,
               "p-value of the chi-squared test of reference vs current category counts"),
    MetricInfo("ks", ks_statistic, ("numeric",), _LOWER, 0.0, True,
               "Two-sample Kolmogorov-Smirnov statistic of the raw values"),
    MetricInfo("wasserstein", normed_wasserstein, ("numeric",), _LOWER, 0.0, True,
               "Wasserstein distance divided by the reference's standard deviation"),
    MetricInfo("roc_auc", _sklearn("roc_auc_score"), ("categorical",), _HIGHER, 1.0, True,
               "Area under the ROC curve of the score (binary)"),
    MetricInfo("accuracy", _sklearn("accuracy_score"), ("categorical",), _HIGHER, 1.0, False,
               "Share of rows predicted correctly"),
    MetricInfo("precision", _sklearn("precision_score", zero_division=0), ("categorical",),
               _HIGHER, 1.0, False, "Precision of the positive class (binary)"),
    MetricInfo("recall", _sklearn("recall_score", zero_division=0), ("categorical",),
               _HIGHER, 1.0, False, "Recall of the positive class (binary)"),
    MetricInfo("f1", _sklearn("f1_score", zero_division=0), ("categorical",),
               _HIGHER, 1.0, False, "F1 of the positive class (binary)"),
    MetricInfo("macro_f1", _sklearn("f1_score", average="macro", zero_division=0),
               ("categorical",), _HIGHER, 1.0, False, "Unweighted mean of per-class F1"),
    MetricInfo("macro_precision", _sklearn("precision_score", average="macro",
                                          zero_division=0),
               ("categorical",), _HIGHER, 1.0, False, "Unweighted mean of per-class precision"),
    MetricInfo("macro_recall", _sklearn("recall_score", average="macro", zero_division=0),
               ("categorical",), _HIGHER, 1.0, False, "Unweighted mean of per-class recall"),
    MetricInfo("rmse", _sklearn("root_mean_squared_error"), ("numeric",), _LOWER, 0.0, False,
               "Root mean squared error"),
    MetricInfo("mae", _sklearn("mean_absolute_error"), ("numeric",), _LOWER, 0.0, False,
               "Mean absolute error"),
    MetricInfo("r2", _sklearn("r2_score"), ("numeric",), _HIGHER, 1.0, False,
               "Coefficient of determination"),
]}

DRIFT_METRICS = ("psi", "js", "chi2_p", "ks", "wasserstein")
PERFORMANCE_METRICS = tuple(name for name in METRICS if name not in DRIFT_METRICS)


def f1_grouped(frame: pd.DataFrame, keys: list[str], *, positive: pd.Series | None = None) -> pd.Series:
    """F1 per group from confusion counts, vectorized: many windows and models at once.

    ``frame`` has columns ``keys + ['label', 'prediction', 'n']`` (counts of true label ×
    prediction). With ``positive`` (the positive class per row, as text) this is the binary F1
    of that class; without, the macro F1 over the classes present in labels ∪ predictions.
    Both equal ``sklearn.metrics.f1_score`` (``zero_division=0``) on the expanded arrays: the
    per-group loop of :func:`classification_metrics_from_confusion` is too slow for a fleet
    timeline (tens of thousands of groups).

    >>> f = pd.DataFrame({"g": [0, 0, 0], "label": ["1", "1", "0"], "prediction": ["1", "0", "1"], "n": [3, 1, 2]})
    >>> float(f1_grouped(f, ["g"], positive=pd.Series(["1"] * 3)).iloc[0])  # 2*3 / (2*3 + 2 + 1)
    0.6666666666666666
    """
    n = frame["n"].to_numpy(dtype="float64")
    hit = (frame["label"] == frame["prediction"]).to_numpy()
    if positive is not None:
        pos = positive.to_numpy()
        is_pos_label = frame["label"].to_numpy() == pos
        is_pos_pred = frame["prediction"].to_numpy() == pos
        parts = pd.DataFrame({"tp": n * (is_pos_label & is_pos_pred), "fp": n * (~is_pos_label & is_pos_pred),
                              "fn": n * (is_pos_label & ~is_pos_pred)})
        for k in keys:
            parts[k] = frame[k].to_numpy()
        s = parts.groupby(keys)[["tp", "fp", "fn"]].sum()
        denom = 2 * s["tp"] + s["fp"] + s["fn"]
        return (2 * s["tp"] / denom.where(denom > 0)).fillna(0.0)
    base = frame[keys].copy()
    by_true = base.assign(cls=frame["label"].to_numpy(), t=n, tp=n * hit).groupby(keys + ["cls"])[["t", "tp"]].sum()
    by_pred = base.assign(cls=frame["prediction"].to_numpy(), p=n).groupby(keys + ["cls"])[["p"]].sum()
    per_class = by_true.join(by_pred, how="outer").fillna(0.0)
    denom = per_class["t"] + per_class["p"]
    f1 = (2 * per_class["tp"] / denom.where(denom > 0)).fillna(0.0)
    return f1.groupby(level=list(range(len(keys)))).mean()


def roc_auc_windows(scores, n_pos, n_neg, times, starts, ends, *, block: int = 1 << 22):
    """Exact ROC AUC of many time windows over one model's scored rows, in one pass.

    Each value equals ``sklearn.metrics.roc_auc_score`` on the window's expanded arrays (ties
    count one half). A fleet timeline asks for ~40 overlapping windows per model; the cost
    here grows with rows × segments (the pieces the window bounds cut time into), not with
    rows × windows, and a window costs O(1) once the segments are summed.

    Parameters
    ----------
    scores : array-like of float
        Score value of each row, any order (a profile row: one score value in one hour).
    n_pos, n_neg : array-like of int
        Positive and negative labels of each row.
    times : array-like
        Time of each row: numbers or datetime64, comparable with ``starts`` and ``ends``.
    starts, ends : array-like
        Window k holds the rows with ``starts[k] < time <= ends[k]``. Windows may overlap,
        nest or be empty; rows outside every window are ignored.
    block : int, optional
        Upper bound on the elements of the work arrays (rows × segments per block); bounds the
        memory when there are very many segments.

    Returns
    -------
    auc : ndarray of float
        Per window; nan where it lacks positives or negatives.
    n_labeled : ndarray of float
        Per window: its positives + negatives.

    Notes
    -----
    The sorted distinct bounds cut time into segments; a row lies in at most one, and window
    k is the run of segments [a_k, b_k). With the rows sorted by score once, M[d, e] = Σ over
    the positives of segment d of (the negatives of segment e with a lower score + ½ · those
    with the same score), from a cumulative count of each segment's negatives along the
    score order (segments × negative rows). A window's Mann–Whitney U is the sum of M over
    [a, b)², read off 2-D prefix sums; its positives P and negatives N come from 1-D prefix
    sums, and AUC = U / (P·N). 2·M is summed in int64, so U and P·N are exact (while below
    2**53) and the AUC is the correctly rounded quotient, whatever the order of the rows.

    Examples
    --------
    Rows at times 1, 2, 3; window (0, 3] holds all three, (1, 3] the last two, (1, 1] none:

    >>> auc, n = roc_auc_windows([0.9, 0.5, 0.1], [1, 1, 0], [0, 1, 1], [1, 2, 3], [0, 1, 1], [3, 3, 1])
    >>> auc.tolist(), n.tolist()  # (2 + 1.5) / (2 * 2): a tie counts one half
    ([0.875, 0.75, nan], [4.0, 3.0, 0.0])
    """
    scores = np.asarray(scores, dtype="float64")
    pos = np.asarray(n_pos, dtype="int64")
    neg = np.asarray(n_neg, dtype="int64")
    times, starts, ends = np.asarray(times), np.asarray(starts).ravel(), np.asarray(ends).ravel()
    edges = np.unique(np.concatenate([starts, ends]))
    first = np.searchsorted(edges, starts)                      # window k: segments [first, stop)
    stop = np.maximum(np.searchsorted(edges, ends), first)      # an empty window (end <= start): none
    n_seg = max(edges.size - 1, 0)
    seg = np.searchsorted(edges, times, side="left") - 1        # edges[seg] < time <= edges[seg + 1]
    rows = np.flatnonzero((seg >= 0) & (seg < n_seg))
    rows = rows[np.argsort(scores[rows])]                       # in score order
    neg_rows, pos_rows = rows[neg[rows] > 0], rows[pos[rows] > 0]
    neg_score, neg_seg, neg_n = scores[neg_rows], seg[neg_rows], neg[neg_rows]
    # Per positive row: how many negative rows score lower, and lower or the same.
    lower = np.searchsorted(neg_score, scores[pos_rows], side="left")
    upto = np.searchsorted(neg_score, scores[pos_rows], side="right")
    tie = bool(np.any(upto > lower))
    # Positive rows grouped by segment, for a reduceat (a stable radix sort, still by score within).
    by_seg = np.argsort(seg[pos_rows].astype(np.int16 if n_seg < 2**15 else np.int64), kind="stable")
    pos_rows, lower, upto = pos_rows[by_seg], lower[by_seg], upto[by_seg]
    pos_n = pos[pos_rows]
    weighted = bool(np.any(pos_n != 1))
    present, run_start = np.unique(seg[pos_rows], return_index=True)
    # Integer counts: exact, and an integer cumsum is ~10× faster than a float one.
    pair2 = np.zeros((n_seg, n_seg), dtype="int64")             # 2 · M[d, e] (M above)
    width = max(1, block // max(rows.size, 1))
    for e0 in range(0, n_seg if pos_rows.size and neg_rows.size else 0, width):
        e1 = min(n_seg, e0 + width)
        here = np.flatnonzero((neg_seg >= e0) & (neg_seg < e1))
        cum = np.zeros((e1 - e0, neg_rows.size + 1), dtype="int64")
        cum[neg_seg[here] - e0, here + 1] = neg_n[here]
        cum = np.cumsum(cum, axis=1)    # cum[e, k]: negatives of segment e0 + e among the k lowest rows
        wins = cum[:, lower]
        if tie:                         # twice (lower + half the tied) = lower + lower-or-tied
            wins += cum[:, upto]
        if weighted:
            wins *= pos_n
        wins = np.add.reduceat(wins, run_start, axis=1).T
        pair2[present, e0:e1] = wins if tie else 2 * wins
    corner = np.zeros((n_seg + 1, n_seg + 1), dtype="int64")
    corner[1:, 1:] = pair2.cumsum(axis=0).cumsum(axis=1)        # Σ 2 · M[d < i, e < j]
    u = (corner[stop, stop] - corner[first, stop] - corner[stop, first] + corner[first, first]) / 2
    cum_pos = np.r_[0, np.cumsum(np.bincount(seg[rows], weights=pos[rows], minlength=n_seg))]
    cum_neg = np.r_[0, np.cumsum(np.bincount(seg[rows], weights=neg[rows], minlength=n_seg))]
    p, n = cum_pos[stop] - cum_pos[first], cum_neg[stop] - cum_neg[first]
    total = p * n
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = np.where(total > 0, u / np.where(total > 0, total, 1), np.nan)
    return auc, p + n
