"""Checks: each check's value at every (instant, model, feature) and its status against the policy's
thresholds (Judge._finish), all instants at once and vectorized over the fleet, which makes `since`,
`onset` and a 30-day timeline cheap. No SQL here (lib/store/read.py does it), nothing rendered."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lib import metrics
from lib.judge.cube import DriftCube, quality_by_window
from lib.judge.estimate import estimable, estimate_by_window
from lib.judge.fleet import Fleet
from lib.judge.performance import performance_by_window, performance_info
from lib.judge.policy import CHECKS_BY_NAME, Policy, effective_block, effective_setting, effective_threshold
from lib.judge.status import RED, YELLOW, judge
from lib.judge.windows import DAY, WEEK
from lib.store.read import Reader

FEATURE_CHECKS = ("missing", "unseen_categories", "out_of_range", "feature_drift")
_NO_SHIFT = pd.Timedelta(0)
_UNSEEN = 1 << 40  # window ids of the 24-hour unseen windows in a cube shared with the 7-day ones


class Judge:
    """Computes check values and statuses for every (instant, model, check, feature)."""

    def __init__(
        self, reader: Reader, fleet: Fleet, policy: Policy, instants: list[pd.Timestamp], wids: list[int] | None = None
    ):
        """`wids` names the instants in the frames (default 0, 1, …): two judges over different
        instants can then be concatenated (see lib/judge/evaluate.py's two-phase evaluation)."""
        self.r, self.fleet, self.policy = reader, fleet, policy
        self.instants = instants
        self.wids = list(wids) if wids is not None else list(range(len(instants)))
        self.wid = dict(zip(instants, self.wids))
        self.t_of = pd.Series(instants, index=self.wids, dtype="datetime64[us]")
        models = fleet.models.set_index("model_id")
        teams_policies = [
            (m, team, policy.model_policy(m, spec.get("policy")))
            for m, team, spec in zip(models.index, models["team"], models["spec"])
        ]
        self.min_rows = {m: effective_setting(policy, team, pol, "min_rows") for m, team, pol in teams_policies}
        # volume baseline per model: weeks of same-weekday history, 0 for the 7-day daily mean (issue 13)
        blocks = {m: effective_block(policy, team, pol, "volume_baseline") for m, team, pol in teams_policies}
        self.baseline_weeks = {m: int(b["weeks"]) if b["mode"] == "same_weekday" else 0 for m, b in blocks.items()}
        self.models = models
        self.has_reference = set(fleet.snapshots["model_id"])
        # Models whose thresholds differ from the defaults somewhere (team or spec policy).
        self.overridden = {m: (team, pol) for m, team, pol in teams_policies if pol or team in policy.teams}
        self.estimating = {
            m for m, team, pol in teams_policies if effective_setting(policy, team, pol, "estimate_performance")
        }
        self.estimates = pd.DataFrame()

    # -- helpers ---------------------------------------------------------------------------
    def _windows(self, length: pd.Timedelta, shift: pd.Timedelta = _NO_SHIFT):
        return [(i, t - shift - length, t - shift) for i, t in zip(self.wids, self.instants)]

    def _row_counts(self) -> pd.DataFrame:
        """Rows per (wid, model) in the drift window (rows7), the 24-hour window (rows24) and the
        volume baseline (rows_base), from one read of the hourly row counts: cumulated over
        hours, each window is one subtraction (a range join per window was the slow way)."""
        models = self.models.index.to_numpy(dtype=object)
        ends = np.array(self.instants, dtype="datetime64[h]").astype("int64")
        weeks = np.array([self.baseline_weeks.get(m, 0) for m in models], dtype="int64")
        max_weeks = int(weeks.max()) if len(weeks) else 0
        lo, hi = int(ends.min()) - max(8 * 24, (max_weeks * 7 + 1) * 24), int(ends.max())
        counts = self.r.hourly_rows(models, pd.Timestamp(lo, unit="h"), pd.Timestamp(hi, unit="h"))
        width = hi - lo + 1
        dense = np.bincount(
            counts["model"] * width + (counts["hour"] - lo),
            weights=counts["n"].astype("float64"),
            minlength=len(models) * width,
        ).reshape(len(models), width)
        cum = np.cumsum(dense, axis=1)

        def window(start_hours: int, end_hours: int) -> np.ndarray:  # hours before each instant
            return (cum[:, ends - lo - end_hours] - cum[:, ends - lo - start_hours]).T.ravel().astype("int64")

        rows = pd.DataFrame(
            {
                "wid": np.repeat(np.asarray(self.wids, dtype="int64"), len(models)),
                "model_id": np.tile(models, len(ends)),
                "rows7": window(7 * 24, 0),
                "rows24": window(24, 0),
                "rows_base": window(8 * 24, 24),
            }
        )
        rows["min_rows"] = rows["model_id"].map(self.min_rows)
        # same weekday: the same 24 hours k weeks earlier, k = 1 … weeks (per model), the mean over
        # the weeks that logged any row (before a model's first inference there is no history)
        wk = np.tile(weeks, len(ends))
        same, used = np.zeros(len(rows)), np.zeros(len(rows), dtype="int64")
        for k in range(1, max_weeks + 1):
            n = np.where(wk >= k, window(k * 168 + 24, k * 168), 0)
            same, used = same + n, used + (n > 0)
        rows["baseline_weeks"] = wk
        rows["rows_same_weekday"] = same / np.maximum(used, 1)
        return rows

    def thresholds(self, frame: pd.DataFrame, check: str) -> pd.DataFrame:
        """Add yellow, red and threshold_source for each (model_id, feature) row.

        Most models use the defaults; only those whose team or spec overrides something are
        looked up one by one (policy.effective_threshold says where each level came from).
        """
        base = effective_threshold(self.policy, "", {}, check)
        frame = frame.assign(
            yellow=base.yellow,
            red=base.red,
            threshold_source=base.source,
            yellow_source=base.yellow_source,
            red_source=base.red_source,
        )
        special = [m for m in frame["model_id"].unique() if m in self.overridden]
        if not special:
            return frame
        mask = frame["model_id"].isin(special).to_numpy()
        sub = frame.loc[mask, ["model_id", "feature"]]
        cache: dict = {}
        values = []
        for m, f in sub.itertuples(index=False):
            feature = f if isinstance(f, str) else None
            key = (m, feature)
            if key not in cache:
                team, model_policy = self.overridden[m]
                cache[key] = effective_threshold(self.policy, team, model_policy, check, feature)
            th = cache[key]
            values.append((th.yellow, th.red, th.source, th.yellow_source, th.red_source))
        if values:
            y, r, src, ysrc, rsrc = zip(*values)
            frame.loc[mask, "yellow"] = np.asarray(y, dtype="float64")
            frame.loc[mask, "red"] = np.asarray(r, dtype="float64")
            frame.loc[mask, "threshold_source"] = list(src)
            frame.loc[mask, "yellow_source"] = list(ysrc)
            frame.loc[mask, "red_source"] = list(rsrc)
        return frame

    def _finish(self, frame: pd.DataFrame, check: str) -> pd.DataFrame:
        setting = CHECKS_BY_NAME[check]
        frame = self.thresholds(frame, check)
        frame["status"] = judge(
            frame["value"].to_numpy(dtype="float64"),
            frame["yellow"].to_numpy(dtype="float64"),
            frame["red"].to_numpy(dtype="float64"),
            setting.direction,
            frame["grey"].to_numpy(dtype=bool),
        )
        frame["check"] = check
        return frame

    # -- checks ----------------------------------------------------------------------------
    def run(self, needed: set[str] | None = None, detail_at: pd.Timestamp | None = None) -> pd.DataFrame:
        """Checks at all instants: one long frame (wid, model_id, check, feature, value, status, …).

        `needed` limits the work to some checks (the history behind a few reasons); the row
        counts every check leans on are always computed.
        """
        want = lambda *names: needed is None or bool(needed.intersection(names))  # noqa: E731
        w7, w24 = self._windows(WEEK), self._windows(DAY)
        self.rows = self._row_counts()
        self._grid: pd.DataFrame | None = None
        parts = []
        detail = detail_at is not None
        drift, unseen = detail or want("feature_drift", "prediction_drift"), detail or want("unseen_categories")
        if drift or unseen:
            # One categorical cube serves both the 7-day drift and the 24-hour unseen windows.
            cat = DriftCube(
                self.r,
                (w7 if drift else []) + ([(_UNSEEN + i, s, e) for i, s, e in w24] if unseen else []),
                self.fleet.ref,
                "categorical",
                self._slots("categorical"),
            )
            cat_summary = cat.summary()
            is24 = cat_summary["wid"].to_numpy() >= _UNSEEN
        if drift:
            num7 = DriftCube(self.r, w7, self.fleet.ref, "numeric", self._slots("numeric"))
            self._psi = pd.concat([cat_summary[~is24], num7.summary()], ignore_index=True)[
                ["wid", "model_id", "slot", "psi", "ref_total"]
            ]
            parts += [self.feature_drift(), self.prediction_drift()]
        if unseen:
            self._unseen24 = cat_summary[is24].assign(wid=lambda d: d["wid"] - _UNSEEN)[
                ["wid", "model_id", "slot", "unseen", "nonnull"]
            ]
            parts.append(self.unseen())
        if detail:
            # The bins themselves, for one instant only: JS, chi2 and the unseen values' list.
            wid = self.wid[detail_at]
            self.num7, self.cat7, self.cat24 = (
                num7.aligned(wid),
                cat.aligned(wid),
                cat.aligned(_UNSEEN + wid, as_wid=wid),
            )
        if want("missing", "out_of_range"):
            self.qual24 = quality_by_window(self.r, w24, self._slots("numeric", "categorical"))
            parts += [self.missing(), self.out_of_range()]
        if want("volume"):
            parts.append(self.volume())
        if want("freshness"):
            parts.append(self.freshness())
        if want("schema"):
            parts.append(self.schema(w24))
        if want("performance"):
            parts.append(self.performance(w7))
        if want("performance_estimate") or detail:
            parts.append(self.performance_estimate(w7, detail))
        out = pd.concat([p for p in parts if len(p)], ignore_index=True)
        return out if needed is None else out[out["check"].isin(needed)]

    def _slots(self, *kinds: str) -> pd.DataFrame:
        """(model_id, slot) of the judged features of some kinds, and the prediction / score slots."""
        ref = self.fleet.ref
        output = ref[(ref["slot"] < 0) & ref["kind"].isin(kinds)]
        return pd.concat([self._features(kinds)[["model_id", "slot"]], output[["model_id", "slot"]]], ignore_index=True)

    def _features(self, kinds=("numeric", "categorical")) -> pd.DataFrame:
        f = self.fleet.features
        return f[f["kind"].isin(kinds)][["model_id", "slot", "feature", "kind", "position"]]

    def _per_feature_grid(self, kinds) -> pd.DataFrame:
        """(wid × feature) rows with the model's row counts. The cross join and the merge are made
        once per run (four checks use them; a 30-day timeline has ~30 rows per feature); a kind's
        rows are a filter of them, in the same order."""
        if self._grid is None:
            grid = pd.DataFrame({"wid": self.wids}).merge(self._features(), how="cross")
            self._grid = grid.merge(self.rows, on=["wid", "model_id"], how="left")
        grid = self._grid
        if set(kinds) >= {"numeric", "categorical"}:
            return grid
        return grid[grid["kind"].isin(kinds).to_numpy()].reset_index(drop=True)

    def feature_drift(self) -> pd.DataFrame:
        grid = self._per_feature_grid(("numeric", "categorical"))
        grid = grid.merge(self._psi, on=["wid", "model_id", "slot"], how="left")
        grid["value"] = grid["psi"]
        # ref_total: the reference's non-NULL finite values of the feature (its bins' sum)
        grid["grey"] = (
            (grid["rows7"] < grid["min_rows"]) | (grid["ref_total"].fillna(0) < grid["min_rows"]) | grid["value"].isna()
        )
        return self._finish(grid, "feature_drift")

    def prediction_drift(self) -> pd.DataFrame:
        m = self.models
        slot = pd.Series(np.where(m["spec"].map(lambda s: "score" in s.get("columns", {})), -2, -1), index=m.index)
        frame = self.rows.assign(slot=self.rows["model_id"].map(slot), feature=None)
        frame = frame.merge(self._psi, on=["wid", "model_id", "slot"], how="left")
        frame["value"] = frame["psi"]
        frame["on"] = np.where(frame["slot"] == -2, "score", "prediction")
        frame["grey"] = (frame["rows7"] < frame["min_rows"]) | frame["value"].isna()
        return self._finish(frame, "prediction_drift")

    def missing(self) -> pd.DataFrame:
        grid = self._per_feature_grid(("numeric", "categorical"))
        grid = grid.merge(
            self.qual24[["wid", "model_id", "slot", "n_null"]], on=["wid", "model_id", "slot"], how="left"
        )
        ref = self.fleet.ref.assign(ref_null_share=lambda d: d["n_null"] / d["n_rows"].where(d["n_rows"] > 0))
        grid = grid.merge(ref[["model_id", "slot", "ref_null_share"]], on=["model_id", "slot"], how="left")
        grid["n_null"] = grid["n_null"].fillna(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            grid["share"] = grid["n_null"] / grid["rows24"].where(grid["rows24"] > 0)
        grid["value"] = grid["share"] - grid["ref_null_share"].fillna(0)
        grid["grey"] = (
            (grid["rows24"] < grid["min_rows"]) | grid["value"].isna() | ~grid["model_id"].isin(self.has_reference)
        )  # nothing to compare against yet
        return self._finish(grid, "missing")

    def unseen(self) -> pd.DataFrame:
        grid = self._per_feature_grid(("categorical",))
        grid = grid.merge(self._unseen24, on=["wid", "model_id", "slot"], how="left")
        grid["value"] = grid["unseen"] / grid["nonnull"].where(grid["nonnull"] > 0)
        grid["grey"] = (
            (grid["rows24"] < grid["min_rows"]) | grid["value"].isna() | ~grid["model_id"].isin(self.has_reference)
        )  # nothing to compare against yet
        return self._finish(grid, "unseen_categories")

    def out_of_range(self) -> pd.DataFrame:
        grid = self._per_feature_grid(("numeric",))
        q = self.qual24
        grid = grid.merge(
            q[["wid", "model_id", "slot", "n_null", "n_below", "n_above"]], on=["wid", "model_id", "slot"], how="left"
        )
        grid = grid.merge(self.fleet.ref[["model_id", "slot", "vmin", "vmax"]], on=["model_id", "slot"], how="left")
        nonnull = grid["rows24"] - grid["n_null"].fillna(0)
        grid["value"] = (grid["n_below"].fillna(0) + grid["n_above"].fillna(0)) / nonnull.where(nonnull > 0)
        grid["grey"] = (
            (grid["rows24"] < grid["min_rows"]) | grid["value"].isna() | ~grid["model_id"].isin(self.has_reference)
        )  # nothing to compare against yet
        return self._finish(grid, "out_of_range")

    def volume(self) -> pd.DataFrame:
        f = self.rows.assign(feature=None)
        wk = f["baseline_weeks"]
        base = (f["rows_base"] / 7.0).where(wk == 0, f["rows_same_weekday"])
        f["baseline"] = base
        f["value"] = (f["rows24"] / base.where(base > 0)).astype("float64")  # baseline 0 passes: NaN is green
        f["grey"] = False
        return self._finish(f, "volume")

    def freshness(self) -> pd.DataFrame:
        instants = list(zip(self.wids, self.instants))
        last = self.r.last_inference(instants)
        f = self.rows.merge(last, on=["wid", "model_id"], how="left").assign(feature=None)
        t = f["wid"].map(self.t_of)
        hours = (t - f["last_ts"]).dt.total_seconds() / 3600.0
        f["value"] = hours  # null before the model's first inference
        # No inference at or before the instant: nothing can be late yet, so grey, not red (DESIGN:
        # "freshness turns red only after a model has logged once"; issue 14). Once it has logged,
        # a model that stops goes yellow and red as the hours pass.
        f["grey"] = f["last_ts"].isna().to_numpy()
        return self._finish(f, "freshness")

    def schema(self, w24) -> pd.DataFrame:
        files = self.r.files_in(w24)
        if files.empty:
            return pd.DataFrame()
        rows = []
        feats = self.fleet.features[self.fleet.features["model_id"].isin(set(files["model_id"]))]
        spec_features = feats.groupby("model_id")["feature"].agg(set).to_dict()
        for rec in files.itertuples(index=False):
            current = spec_features.get(rec.model_id, set())
            for feat in rec.missing_features:
                if feat in current:
                    rows.append((rec.wid, rec.model_id, feat, "missing", rec.file_name))
            for col in rec.extra_columns:
                rows.append((rec.wid, rec.model_id, col, "extra", rec.file_name))
        if not rows:
            return pd.DataFrame()
        frame = pd.DataFrame(rows, columns=["wid", "model_id", "feature", "problem", "file_name"])
        frame = frame.groupby(["wid", "model_id", "feature", "problem"], as_index=False).agg(
            value=("file_name", "size"), files=("file_name", lambda s: sorted(set(s)))
        )
        # A missing feature column is red, an extra column yellow: both at one file.
        frame["yellow"], frame["red"] = 1.0, np.where(frame["problem"] == "missing", 1.0, np.nan)
        frame["threshold_source"] = "default"
        frame["status"] = np.where(frame["problem"] == "missing", RED, YELLOW)
        frame["check"] = "schema"
        return frame

    def performance(self, w7) -> pd.DataFrame:
        labelled = [m for m in self.models.index if m in self.fleet.labelled]
        if not labelled:
            return pd.DataFrame()
        cur = performance_by_window(self.r, w7, self.fleet.models, self.fleet.snapshots)
        grid = self.rows[self.rows["model_id"].isin(labelled)].assign(feature=None)
        # The metric's name and reference value hold at every instant, labelled rows or not (a
        # window without labels has current null, never a null metric name: issue 14).
        grid = grid.merge(performance_info(self.fleet.models, self.fleet.snapshots), on="model_id", how="left")
        grid = grid.merge(cur[["wid", "model_id", "current", "n_labeled"]], on=["wid", "model_id"], how="left")
        grid["value"] = [
            metrics.performance_loss(m, r, c) if isinstance(m, str) else np.nan
            for m, r, c in zip(grid["metric"], grid["reference"], grid["current"])
        ]
        grid["grey"] = (grid["n_labeled"].fillna(0) < grid["min_rows"]) | grid["value"].isna()
        return self._finish(grid, "performance")

    def performance_estimate(self, w7, detail: bool) -> pd.DataFrame:
        """Estimated ROC AUC (CBPE) per window; a check only where the policy turns it on (the
        estimate itself is kept in self.estimates for every estimable model of a detail)."""
        models = estimable(self.fleet.models)
        wanted = models if detail else [m for m in models if m in self.estimating]
        est = estimate_by_window(self.r, w7, wanted, self.fleet.snapshots)
        self.estimates = est
        frame = self.rows.merge(est[est["model_id"].isin(self.estimating)], on=["wid", "model_id"], how="inner")
        if frame.empty:
            return pd.DataFrame()
        frame["feature"] = None
        frame["value"] = [
            metrics.performance_loss("roc_auc", r, e) for r, e in zip(frame["reference"], frame["estimated"])
        ]
        frame["grey"] = (frame["n_scored"] < frame["min_rows"]) | frame["value"].isna()
        return self._finish(frame, "performance_estimate")
