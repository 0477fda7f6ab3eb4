"""Reference bins: decile edges, bin assignment and aligned category counts.

The reference fixes the bins (DESIGN.md); current data never moves them.
"""

from __future__ import annotations

import numpy as np

from lib.metrics._common import _finite


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
    return np.searchsorted(np.asarray(edges, dtype=float), np.asarray(values, dtype=float), side="right")


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


def categorical_counts(
    ref_categories: list[str], ref_counts, cur_value_counts: dict[str, int]
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
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
    unseen = {
        value: int(count) for value, count in sorted(cur_value_counts.items()) if value not in known and count > 0
    }
    ref_aligned = np.concatenate([np.asarray(ref_counts, dtype=np.int64), np.zeros(len(unseen), dtype=np.int64)])
    cur_aligned = np.array(
        [cur_value_counts.get(category, 0) for category in ref_categories] + list(unseen.values()), dtype=np.int64
    )
    return ref_aligned, cur_aligned, unseen
