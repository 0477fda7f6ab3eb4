"""Data-quality metrics: shares of missing, unseen and out-of-range values."""

from __future__ import annotations

import math


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
