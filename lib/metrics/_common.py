"""Shared constants and small numeric helpers of the metric families."""

from __future__ import annotations

import numpy as np

FLOOR = 0.0001
"""Smallest share a PSI bin may have; keeps ln(c / r) finite for empty bins."""

# Below this fraction of Σy², a total sum of squares computed as Σy² − (Σy)²/n is rounding
# noise from the cancellation, not variance: treat it as 0 so R² is nan, not a huge number.
_TSS_RELATIVE_TOLERANCE = 1e-10


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
