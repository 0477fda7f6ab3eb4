"""The registry of metrics: name, function, column kinds, direction and best value.

Tests iterate over it (scikit-learn's test_common habit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lib.metrics.drift import (
    chi2_p_value,
    jensen_shannon_distance,
    ks_statistic,
    normed_wasserstein,
    population_stability_index,
)


def _sklearn(name: str, **options) -> Callable:
    """A scikit-learn metric imported on first call: importing sklearn costs ~1 s, and the
    fleet evaluation (a cold command-line process) never needs it."""

    def call(*args, **kwargs):
        import sklearn.metrics as skm

        return getattr(skm, name)(*args, **options, **kwargs)

    call.__name__ = name
    return call


def _cbpe(name: str) -> Callable:
    """A function of lib/metrics/cbpe.py, imported on first call (cbpe imports performance,
    which imports this registry)."""

    def call(*args, **kwargs):
        from lib.metrics import cbpe

        return getattr(cbpe, name)(*args, **kwargs)

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
        Estimated performance metrics (CBPE, lib/metrics/cbpe.py; no labels): ``(scores,
        probabilities, counts=None)`` for the ROC AUC, ``(probabilities, predicted_positive,
        counts=None)`` for F1, with the probabilities from the reference's isotonic calibration.
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

METRICS: dict[str, MetricInfo] = {
    info.name: info
    for info in [
        MetricInfo(
            "psi",
            population_stability_index,
            _BOTH,
            _LOWER,
            0.0,
            False,
            "Population stability index over the reference bins, shares floored at 0.0001",
        ),
        MetricInfo(
            "js",
            jensen_shannon_distance,
            _BOTH,
            _LOWER,
            0.0,
            False,
            "Jensen-Shannon distance (base 2) of the bin shares",
        ),
        MetricInfo(
            "chi2_p",
            chi2_p_value,
            ("categorical",),
            _HIGHER,
            1.0,
            False,
            "p-value of the chi-squared test of reference vs current category counts",
        ),
        MetricInfo(
            "ks",
            ks_statistic,
            ("numeric",),
            _LOWER,
            0.0,
            True,
            "Two-sample Kolmogorov-Smirnov statistic of the raw values",
        ),
        MetricInfo(
            "wasserstein",
            normed_wasserstein,
            ("numeric",),
            _LOWER,
            0.0,
            True,
            "Wasserstein distance divided by the reference's standard deviation",
        ),
        MetricInfo(
            "roc_auc",
            _sklearn("roc_auc_score"),
            ("categorical",),
            _HIGHER,
            1.0,
            True,
            "Area under the ROC curve of the score (binary)",
        ),
        MetricInfo(
            "accuracy",
            _sklearn("accuracy_score"),
            ("categorical",),
            _HIGHER,
            1.0,
            False,
            "Share of rows predicted correctly",
        ),
        MetricInfo(
            "precision",
            _sklearn("precision_score", zero_division=0),
            ("categorical",),
            _HIGHER,
            1.0,
            False,
            "Precision of the positive class (binary)",
        ),
        MetricInfo(
            "recall",
            _sklearn("recall_score", zero_division=0),
            ("categorical",),
            _HIGHER,
            1.0,
            False,
            "Recall of the positive class (binary)",
        ),
        MetricInfo(
            "f1",
            _sklearn("f1_score", zero_division=0),
            ("categorical",),
            _HIGHER,
            1.0,
            False,
            "F1 of the positive class (binary)",
        ),
        MetricInfo(
            "macro_f1",
            _sklearn("f1_score", average="macro", zero_division=0),
            ("categorical",),
            _HIGHER,
            1.0,
            False,
            "Unweighted mean of per-class F1",
        ),
        MetricInfo(
            "macro_precision",
            _sklearn("precision_score", average="macro", zero_division=0),
            ("categorical",),
            _HIGHER,
            1.0,
            False,
            "Unweighted mean of per-class precision",
        ),
        MetricInfo(
            "macro_recall",
            _sklearn("recall_score", average="macro", zero_division=0),
            ("categorical",),
            _HIGHER,
            1.0,
            False,
            "Unweighted mean of per-class recall",
        ),
        MetricInfo(
            "rmse", _sklearn("root_mean_squared_error"), ("numeric",), _LOWER, 0.0, False, "Root mean squared error"
        ),
        MetricInfo("mae", _sklearn("mean_absolute_error"), ("numeric",), _LOWER, 0.0, False, "Mean absolute error"),
        MetricInfo("r2", _sklearn("r2_score"), ("numeric",), _HIGHER, 1.0, False, "Coefficient of determination"),
        # issue 13: performance before labels (the performance_estimate check and JSON block)
        MetricInfo(
            "estimated_roc_auc",
            _cbpe("estimated_roc_auc"),
            ("categorical",),
            _HIGHER,
            1.0,
            False,
            "ROC AUC estimated from the scores alone (CBPE): each score is positive with its probability "
            "from the reference's isotonic calibration; the expected ROC curve's area (binary with a score)",
        ),
        MetricInfo(
            "estimated_f1",
            _cbpe("estimated_f1"),
            ("categorical",),
            _HIGHER,
            1.0,
            False,
            "F1 at the model's own threshold estimated from the scores alone (CBPE): "
            "2 E[TP] / (2 E[TP] + E[FP] + E[FN]) from the calibrated probabilities (binary with a score)",
        ),
    ]
}

DRIFT_METRICS = ("psi", "js", "chi2_p", "ks", "wasserstein")
ESTIMATE_METRICS = ("estimated_roc_auc", "estimated_f1")  # no labels needed
PERFORMANCE_METRICS = tuple(name for name in METRICS if name not in DRIFT_METRICS + ESTIMATE_METRICS)
