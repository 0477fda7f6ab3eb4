"""Drift, data-quality and performance metrics as pure functions.

Every definition here is the one in DESIGN.md "Metric definitions" and "Precise rules",
and the tests pin each against scipy / scikit-learn. Distribution metrics work on bin counts
(which the hourly profiles store), except KS and Wasserstein, which need raw values.
Performance metrics work on aggregates (confusion counts, per-score label counts, sums), so
that judging never has to read raw rows.

This package does not read data, open DuckDB, know about Streamlit, or hold thresholds: the
policy module turns values into stoplight statuses.
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
from lib.metrics.quality import (  # noqa: F401
    missing_share,
    out_of_range_share,
    share,
    unseen_share,
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
from lib.metrics.registry import (  # noqa: F401
    DRIFT_METRICS,
    METRICS,
    MetricInfo,
    PERFORMANCE_METRICS,
)
