"""Performance metrics from aggregates: confusion counts, per-score label counts, sums.

Judging never reads raw rows; each function is pinned against scikit-learn in the tests.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lib.metrics._common import _TSS_RELATIVE_TOLERANCE, _divide
from lib.metrics.registry import METRICS


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


def classification_metrics_from_confusion(
    labels: list[str], confusion: np.ndarray, *, positive_class: str | None
) -> dict:
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
        return {
            "accuracy": accuracy,
            "precision": _divide(tp, n_pred),
            "recall": _divide(tp, n_true),
            "f1": _divide(2 * tp, n_true + n_pred),
        }  # = 2tp / (2tp + fp + fn)

    present = (true_sum + pred_sum) > 0  # sklearn averages over y_true ∪ y_pred only
    tp, n_true, n_pred = true_pos[present], true_sum[present], pred_sum[present]
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(n_pred > 0, tp / n_pred, 0.0)
        recall = np.where(n_true > 0, tp / n_true, 0.0)
        f1 = 2 * tp / (n_true + n_pred)  # denominator > 0 for every present class
    return {
        "accuracy": accuracy,
        "macro_f1": float(np.mean(f1)),
        "macro_precision": float(np.mean(precision)),
        "macro_recall": float(np.mean(recall)),
    }


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
    return {
        "rmse": math.sqrt(sse / n),
        "mae": float(sae / n),
        "r2": math.nan if constant else float(1 - sse / total_sum_squares),
    }


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
        parts = pd.DataFrame(
            {
                "tp": n * (is_pos_label & is_pos_pred),
                "fp": n * (~is_pos_label & is_pos_pred),
                "fn": n * (is_pos_label & ~is_pos_pred),
            }
        )
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
    first = np.searchsorted(edges, starts)  # window k: segments [first, stop)
    stop = np.maximum(np.searchsorted(edges, ends), first)  # an empty window (end <= start): none
    n_seg = max(edges.size - 1, 0)
    seg = np.searchsorted(edges, times, side="left") - 1  # edges[seg] < time <= edges[seg + 1]
    rows = np.flatnonzero((seg >= 0) & (seg < n_seg))
    rows = rows[np.argsort(scores[rows])]  # in score order
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
    pair2 = np.zeros((n_seg, n_seg), dtype="int64")  # 2 · M[d, e] (M above)
    width = max(1, block // max(rows.size, 1))
    for e0 in range(0, n_seg if pos_rows.size and neg_rows.size else 0, width):
        e1 = min(n_seg, e0 + width)
        here = np.flatnonzero((neg_seg >= e0) & (neg_seg < e1))
        cum = np.zeros((e1 - e0, neg_rows.size + 1), dtype="int64")
        cum[neg_seg[here] - e0, here + 1] = neg_n[here]
        cum = np.cumsum(cum, axis=1)  # cum[e, k]: negatives of segment e0 + e among the k lowest rows
        wins = cum[:, lower]
        if tie:  # twice (lower + half the tied) = lower + lower-or-tied
            wins += cum[:, upto]
        if weighted:
            wins *= pos_n
        wins = np.add.reduceat(wins, run_start, axis=1).T
        pair2[present, e0:e1] = wins if tie else 2 * wins
    corner = np.zeros((n_seg + 1, n_seg + 1), dtype="int64")
    corner[1:, 1:] = pair2.cumsum(axis=0).cumsum(axis=1)  # Σ 2 · M[d < i, e < j]
    u = (corner[stop, stop] - corner[first, stop] - corner[stop, first] + corner[first, first]) / 2
    cum_pos = np.r_[0, np.cumsum(np.bincount(seg[rows], weights=pos[rows], minlength=n_seg))]
    cum_neg = np.r_[0, np.cumsum(np.bincount(seg[rows], weights=neg[rows], minlength=n_seg))]
    p, n = cum_pos[stop] - cum_pos[first], cum_neg[stop] - cum_neg[first]
    total = p * n
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = np.where(total > 0, u / np.where(total > 0, total, 1), np.nan)
    return auc, p + n
