"""Multiple testing: the Benjamini-Hochberg procedure that controls the false discovery rate of a
family of p-values (issue 13: hundreds of models x features tested at once)."""

from __future__ import annotations

import numpy as np


def benjamini_hochberg_adjusted(p_values) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), in the order given.

    q_(i) = min over j >= i of p_(j) * m / j for the p-values sorted ascending (rank j of m),
    capped at 1; a test is a discovery at false discovery rate alpha when its q <= alpha. This is
    what ``scipy.stats.false_discovery_control(p, method="bh")`` returns. Range [0, 1]; NaN
    p-values are not part of the family and stay NaN.

    >>> benjamini_hochberg_adjusted([0.01, 0.04, 0.03, 0.20]).round(4).tolist()
    [0.04, 0.0533, 0.0533, 0.2]
    """
    p = np.asarray(p_values, dtype="float64")
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    sub = p[ok]
    order = np.argsort(sub, kind="stable")
    ranked = sub[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.clip(q, 0.0, 1.0)
    out[ok] = adjusted
    return out
