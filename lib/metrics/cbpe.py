"""Confidence-based performance estimation (CBPE, as in NannyML): ROC AUC and F1 of a binary
classifier estimated from its scores alone, before the labels arrive.

The reference (labelled hold-out) set fits an isotonic map score -> probability (scikit-learn's
``IsotonicRegression(out_of_bounds="clip")``, the method of ``CalibratedClassifierCV(method=
"isotonic")``). A window's expected confusion matrix then follows from the calibrated
probabilities p: E[TP] = sum p * pred, E[FP] = sum (1 - p) * pred, E[FN] = sum p * (1 - pred).
The estimated ROC AUC is NannyML's: sort by score, expected TPR / FPR at every threshold from
the cumulative sums of p and 1 - p, area by the trapezoid rule — which equals the Mann-Whitney
AUC with p positives and 1 - p negatives at each score (``roc_auc_from_counts`` with float
weights), so ties in score are handled as sklearn does.

The estimate is only as good as the calibration: it assumes P(y | score) is unchanged since the
reference (covariate shift, no concept shift).
"""

from __future__ import annotations

import numpy as np

from lib.metrics.performance import roc_auc_from_counts


def fit_calibration(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    """The isotonic map score -> P(positive), as the knots (x, y) of a piecewise-linear function.

    ``labels`` are 1 for the positive class, 0 otherwise. Evaluate with ``calibrate``; this equals
    ``IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(scores, labels).predict``.
    Knots are empty when there are no scores.

    >>> x, y = fit_calibration([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1])
    >>> calibrate(x, y, [0.0, 0.25, 1.0]).tolist()
    [0.0, 0.5, 1.0]
    """
    from sklearn.isotonic import IsotonicRegression

    s = np.asarray(scores, dtype="float64")
    y = np.asarray(labels, dtype="float64")
    keep = np.isfinite(s)
    if not keep.any():
        return np.zeros(0), np.zeros(0)
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(s[keep], y[keep])
    return np.asarray(iso.X_thresholds_, dtype="float64"), np.asarray(iso.y_thresholds_, dtype="float64")


def calibrate(knots_x, knots_y, scores) -> np.ndarray:
    """Calibrated probabilities of ``scores`` (linear between knots, clipped outside them)."""
    s = np.asarray(scores, dtype="float64")
    kx = np.asarray(knots_x, dtype="float64")
    if kx.size == 0:
        return np.full(s.shape, np.nan)
    if kx.size == 1:
        return np.full(s.shape, float(np.asarray(knots_y)[0]))
    return np.interp(s, kx, np.asarray(knots_y, dtype="float64"))


def estimated_roc_auc(scores, probabilities, counts=None) -> float:
    """CBPE ROC AUC: the expected ROC curve's area when each score is positive with its calibrated
    probability. Range [0, 1]; nan when the expected positives or negatives are 0.

    ``counts`` (optional) is how many rows had each (score, probability).

    >>> estimated_roc_auc([0.1, 0.9], [0.0, 1.0])
    1.0
    >>> round(estimated_roc_auc([0.2, 0.4, 0.8], [0.25, 0.5, 0.75]), 6)
    0.722222
    """
    p = np.asarray(probabilities, dtype="float64")
    n = np.ones_like(p) if counts is None else np.asarray(counts, dtype="float64")
    return roc_auc_from_counts(np.asarray(scores, dtype="float64"), n * p, n * (1.0 - p))


def expected_confusion(probabilities, predicted_positive, counts=None) -> dict[str, float]:
    """Expected tp, fp, fn, tn from calibrated probabilities and the model's own predictions."""
    p = np.asarray(probabilities, dtype="float64")
    pred = np.asarray(predicted_positive, dtype=bool)
    n = np.ones_like(p) if counts is None else np.asarray(counts, dtype="float64")
    return {
        "tp": float(np.sum(n * p * pred)),
        "fp": float(np.sum(n * (1 - p) * pred)),
        "fn": float(np.sum(n * p * ~pred)),
        "tn": float(np.sum(n * (1 - p) * ~pred)),
    }


def estimated_f1(probabilities, predicted_positive, counts=None) -> float:
    """CBPE F1 at the model's threshold: 2 E[TP] / (2 E[TP] + E[FP] + E[FN]). Range [0, 1];
    nan when the denominator is 0.

    >>> estimated_f1([0.9, 0.6, 0.2], [True, True, False])
    0.8108108108108107
    """
    c = expected_confusion(probabilities, predicted_positive, counts)
    den = 2 * c["tp"] + c["fp"] + c["fn"]
    return float(2 * c["tp"] / den) if den > 0 else float("nan")
