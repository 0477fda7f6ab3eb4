"""Metrics: pure functions of counts and arrays, split by family (bins, drift, quality,
performance) with a registry of all of them; pinned against scipy / scikit-learn in the tests.
This package does not read data, open DuckDB, know about Streamlit, or hold thresholds.

May import: nothing else in lib/ (numpy, pandas, scipy; scikit-learn lazily).
"""

from lib.metrics._common import (  # noqa: F401
    FLOOR,
)
from lib.metrics.bins import (  # noqa: F401
    bin_counts_numeric,
    categorical_counts,
    decile_edges,
    numeric_bin_labels,
    numeric_bins,
)
from lib.metrics.cbpe import (  # noqa: F401
    calibrate,
    estimated_f1,
    estimated_roc_auc,
    expected_confusion,
    fit_calibration,
)
from lib.metrics.drift import (  # noqa: F401
    chi2_p_value,
    chi2_p_value_grouped,
    jensen_shannon_distance,
    jensen_shannon_grouped,
    ks_statistic,
    normed_wasserstein,
    population_stability_index,
    psi_grouped,
)
from lib.metrics.importance import (  # noqa: F401
    normalized_importance,
    surrogate_importance,
)
from lib.metrics.multiple import (  # noqa: F401
    benjamini_hochberg_adjusted,
)
from lib.metrics.multivariate import (  # noqa: F401
    domain_classifier,
)
from lib.metrics.performance import (  # noqa: F401
    classification_metrics_from_confusion,
    f1_grouped,
    higher_is_better,
    performance_loss,
    primary_metric_name,
    regression_metrics_from_sums,
    roc_auc_from_counts,
    roc_auc_windows,
)
from lib.metrics.quality import (  # noqa: F401
    missing_share,
    out_of_range_share,
    share,
    unseen_share,
)
from lib.metrics.registry import (  # noqa: F401
    DRIFT_METRICS,
    ESTIMATE_METRICS,
    METRICS,
    PERFORMANCE_METRICS,
    MetricInfo,
)
