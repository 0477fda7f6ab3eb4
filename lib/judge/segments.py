"""Segments (issue 13): each check's metric per value of a segment feature, and which segment
explains a flagged reason. Reads only the segment profiles (lib/store/seg_read.py), and only for
flagged models with segment features or one model's detail: the fleet-wide judgment is untouched.

The rule that names a segment (docs/metrics.md#segments), per segment feature S and segment s:
- counting checks (missing, unseen_categories, out_of_range): the offending rows in the 24-hour
  window — NULLs above the reference's NULL share (missing), values no reference category
  (unseen), values outside the reference's [min, max] (out of range). share_of_problem = s's
  offending rows / all offending rows; value_in_segment = s's rate, value_elsewhere = the rate of
  every other segment together.
- feature_drift, prediction_drift (7 days): share_of_problem = (PSI − PSI without s) / PSI, the
  part of the window's PSI that removing s's rows takes away; value_in_segment = s's own PSI,
  value_elsewhere = the PSI without s.
- performance (labelled rows, 7 days): share_of_problem = (loss − loss without s) / loss, with
  loss the relative loss vs the reference; value_in_segment / _elsewhere = the primary metric.
The segment with the largest share_of_problem is named when it concentrates the problem:
share_of_problem ≥ SHARE_MIN and value_in_segment at least LIFT × value_elsewhere (for losses of
a metric: the segment's loss ≥ LIFT × the rest's loss), and, for drift and performance, at least
MIN_ROWS rows (a few rows' PSI is noise). A uniform failure names none. Across segment
features, the named segment with the largest share_of_problem wins. A feature is not
segmented by itself.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lib import metrics
from lib.store.seg_profiles import segment_label
from lib.store.seg_read import SegmentProfiles

SHARE_MIN = 0.5
LIFT = 2.0
MIN_ROWS = 30
COUNT_CHECKS = ("missing", "unseen_categories", "out_of_range")


def _f(x) -> float | None:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)


def _rate(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


class SegmentJudge:
    """Per-segment metrics of one model (from its SegmentProfiles) and the segment of a reason."""

    def __init__(self, p: SegmentProfiles, *, task: str, has_score: bool):
        self.p, self.task, self.has_score = p, task, has_score
        self.slot_of = dict(zip(p.features["feature"], p.features["slot"].astype(int)))
        self.kind_of = dict(zip(p.features["feature"], p.features["kind"]))
        self.metric = metrics.primary_metric_name(task, has_score)

    def segments(self, seg_slot: int) -> list[tuple[int, str, int, int]]:
        """(code, label, rows_24h, rows_7d) of a segment feature's segments seen in 7 days."""
        r7 = self.p.rows7[self.p.rows7["seg_slot"] == seg_slot]
        r24 = self.p.rows24[self.p.rows24["seg_slot"] == seg_slot]
        n24 = dict(zip(r24["seg_code"].astype(int), r24["n"].astype(int)))
        return [
            (int(c), segment_label(int(c), v), n24.get(int(c), 0), int(n))
            for c, v, n in zip(r7["seg_code"], r7["seg_value"], r7["n"])
        ]

    # -- per-segment counts ------------------------------------------------------------------
    def _offending(self, check: str, seg_slot: int, slot: int) -> tuple[dict[int, float], dict[int, float]]:
        """(offending rows, rows judged) per segment code, in the 24-hour window."""
        p = self.p
        rows = p.rows24[p.rows24["seg_slot"] == seg_slot]
        n = dict(zip(rows["seg_code"].astype(int), rows["n"].astype(float)))
        q = p.qual24[(p.qual24["seg_slot"] == seg_slot) & (p.qual24["slot"] == slot)]
        nulls = dict(zip(q["seg_code"].astype(int), q["n_null"].astype(float)))
        if check == "missing":
            rc = p.ref.get(slot)
            base = rc.n_null / rc.n_rows if rc is not None and rc.n_rows else 0.0
            return {c: max(0.0, nulls.get(c, 0.0) - base * n[c]) for c in n}, n
        nonnull = {c: n[c] - nulls.get(c, 0.0) for c in n}
        if check == "out_of_range":
            out = dict(zip(q["seg_code"].astype(int), (q["n_below"] + q["n_above"]).astype(float)))
            return {c: out.get(c, 0.0) for c in n}, nonnull
        cats = set(p.ref[slot].categories or ()) if slot in p.ref else set()
        c24 = p.cat24[(p.cat24["seg_slot"] == seg_slot) & (p.cat24["slot"] == slot)]
        unseen = c24[~c24["value"].isin(cats)].groupby("seg_code")["n"].sum()
        return {c: float(unseen.get(c, 0.0)) for c in n}, nonnull

    def _nulls(self, seg_slot: int, slot: int) -> dict[int, float]:
        q = self.p.qual24[(self.p.qual24["seg_slot"] == seg_slot) & (self.p.qual24["slot"] == slot)]
        return dict(zip(q["seg_code"].astype(int), q["n_null"].astype(float)))

    def _cells(self, seg_slot: int, slot: int) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """Reference counts and each segment's 7-day counts over the same drift bins."""
        rc = self.p.ref.get(slot)
        if rc is None:
            return np.zeros(0), {}
        if rc.kind == "numeric":
            cur = self.p.num7[(self.p.num7["seg_slot"] == seg_slot) & (self.p.num7["slot"] == slot)]
            out: dict[int, np.ndarray] = {}
            for code, g in cur.groupby("seg_code"):
                v = np.zeros(len(rc.counts))
                np.add.at(v, g["bin"].astype(int).to_numpy(), g["n"].to_numpy(dtype=float))
                out[int(code)] = v
            return np.asarray(rc.counts, dtype=float), out
        cur = self.p.cat7[(self.p.cat7["seg_slot"] == seg_slot) & (self.p.cat7["slot"] == slot)]
        cats = list(rc.categories or ())
        keys = cats + sorted(set(cur["value"]) - set(cats))
        index = {k: i for i, k in enumerate(keys)}
        ref = np.zeros(len(keys))
        ref[: len(cats)] = rc.counts
        out = {}
        for code, g in cur.groupby("seg_code"):
            v = np.zeros(len(keys))
            np.add.at(v, np.fromiter((index[x] for x in g["value"]), dtype=int, count=len(g)), g["n"].to_numpy(float))
            out[int(code)] = v
        return ref, out

    def _performance(self, seg_slot: int, keep) -> tuple[float, int]:
        """(primary metric, labelled rows) over the segments whose code `keep` accepts."""
        p = self.p
        if self.task == "regression":
            r = p.reg7[(p.reg7["seg_slot"] == seg_slot) & p.reg7["seg_code"].map(keep)]
            n = int(r["n"].sum())
            if n == 0:
                return math.nan, 0
            m = metrics.regression_metrics_from_sums(n, r["sse"].sum(), r["sae"].sum(), r["sy"].sum(), r["syy"].sum())
            return m["rmse"], n
        if self.metric == "roc_auc":
            a = p.auc7[(p.auc7["seg_slot"] == seg_slot) & p.auc7["seg_code"].map(keep)]
            a = a.groupby("score", sort=True)[["n_pos", "n_neg"]].sum()
            n = int(a.to_numpy().sum())
            auc = metrics.roc_auc_from_counts(a.index.to_numpy(), a["n_pos"].to_numpy(), a["n_neg"].to_numpy())
            return (auc if n else math.nan), n
        c = p.cls7[(p.cls7["seg_slot"] == seg_slot) & p.cls7["seg_code"].map(keep)]
        n = int(c["n"].sum())
        if n == 0:
            return math.nan, 0
        labels = sorted(set(c["label"]) | set(c["prediction"]))
        idx = {v: i for i, v in enumerate(labels)}
        cm = np.zeros((len(labels), len(labels)))
        for lab, pred, k in zip(c["label"], c["prediction"], c["n"]):
            cm[idx[lab], idx[pred]] += k
        positive = (p.positive or "1") if self.task == "binary_classification" else None
        m = metrics.classification_metrics_from_confusion(labels, cm, positive_class=positive)
        return m[self.metric], n

    # -- the named segment -------------------------------------------------------------------
    def explain(self, check: str, feature: str | None, on_slot: int | None = None) -> dict[str, Any] | None:
        """The segment that explains a flagged (check, feature), or None (docstring's rule)."""
        best = None
        slot = on_slot if on_slot is not None else self.slot_of.get(feature or "")
        for seg_slot, seg_name in self.p.seg_features.items():
            if seg_name == feature:
                continue
            found = self._explain_by(check, seg_slot, slot)
            if found and (best is None or found["share_of_problem"] > best["share_of_problem"]):
                best = {"feature": seg_name, **found}
        return best

    def _explain_by(self, check: str, seg_slot: int, slot: int | None) -> dict[str, Any] | None:
        labels = {c: (lab, n24, n7) for c, lab, n24, n7 in self.segments(seg_slot)}
        cands = []
        if check in COUNT_CHECKS and slot is not None:
            bad, judged = self._offending(check, seg_slot, slot)
            total_bad, total = sum(bad.values()), sum(judged.values())
            if total_bad <= 0:
                return None
            # the rates shown: raw NULL shares for missing (the excess decides the share of the problem)
            shown = self._nulls(seg_slot, slot) if check == "missing" else bad
            total_shown = sum(shown.values())
            for c, b in bad.items():
                inside = _rate(shown.get(c, 0.0), judged[c])
                elsewhere = _rate(total_shown - shown.get(c, 0.0), total - judged[c])
                lift_ok = inside >= LIFT * elsewhere if math.isfinite(elsewhere) else True
                cands.append((b / total_bad, c, inside, elsewhere, judged[c], lift_ok))
        elif check in ("feature_drift", "prediction_drift") and slot is not None:
            ref, cur = self._cells(seg_slot, slot)
            if not cur:
                return None
            whole = sum(cur.values())
            psi = metrics.population_stability_index(ref, whole)
            if not psi > 0:
                return None
            for c, v in cur.items():
                rest = metrics.population_stability_index(ref, whole - v)
                own = metrics.population_stability_index(ref, v)
                rest_f = rest if math.isfinite(rest) else 0.0
                ok = v.sum() >= MIN_ROWS and own >= LIFT * rest_f
                cands.append(((psi - rest_f) / psi, c, own, _f(rest), float(v.sum()), ok))
        elif check == "performance":
            ref_value = self.p.reference_performance.get(self.metric)
            if ref_value is None:
                return None
            codes = list(labels)
            whole, _ = self._performance(seg_slot, lambda c: True)
            loss = metrics.performance_loss(self.metric, ref_value, whole)
            if not loss > 0:
                return None
            for c in codes:
                inside, n_in = self._performance(seg_slot, lambda x, c=c: x == c)
                rest, _ = self._performance(seg_slot, lambda x, c=c: x != c)
                loss_in = metrics.performance_loss(self.metric, ref_value, inside)
                loss_rest = metrics.performance_loss(self.metric, ref_value, rest)
                loss_rest_f = max(loss_rest, 0.0) if math.isfinite(loss_rest) else 0.0
                ok = n_in >= MIN_ROWS and math.isfinite(loss_in) and loss_in >= LIFT * loss_rest_f and loss_in > 0
                cands.append(((loss - loss_rest_f) / loss, c, inside, _f(rest), float(n_in), ok))
        if not cands:
            return None
        share, code, inside, elsewhere, rows, ok = max(cands, key=lambda t: (t[0], -t[1]))
        if share < SHARE_MIN or not ok:
            return None
        return {
            "value": labels.get(code, (segment_label(code, None),))[0],
            "share_of_problem": float(min(share, 1.0)),
            "value_in_segment": _f(inside),
            "value_elsewhere": _f(elsewhere),
            "rows": int(rows),
        }

    # -- the per-segment detail (evaluate --model, the model page's segment picker) -------------
    def segment_metrics(self, seg_slot: int, code: int) -> dict[str, Any]:
        """One segment's feature metrics (as the `features` block has them), prediction drift
        and primary metric: the model page's tables for that segment."""
        feats = []
        for feat, slot in self.slot_of.items():
            if slot == seg_slot:
                continue  # a feature is not judged within its own segments
            kind = self.kind_of[feat]
            row: dict[str, Any] = {"feature": feat, "kind": kind}
            ref, cur = self._cells(seg_slot, slot)
            row["psi"] = _f(metrics.population_stability_index(ref, cur[code])) if code in cur else None
            bad, judged = self._offending("missing", seg_slot, slot)
            n24 = judged.get(code, 0.0)
            q = self.p.qual24
            q = q[(q["seg_slot"] == seg_slot) & (q["slot"] == slot) & (q["seg_code"] == code)]
            row["missing_share"] = _f(_rate(float(q["n_null"].sum()), n24))
            rc = self.p.ref.get(slot)
            base = rc.n_null / rc.n_rows if rc is not None and rc.n_rows else 0.0
            row["missing_increase"] = None if row["missing_share"] is None else row["missing_share"] - base
            check = "unseen_categories" if kind == "categorical" else "out_of_range"
            bad, judged = self._offending(check, seg_slot, slot)
            name = "unseen_share" if kind == "categorical" else "out_of_range_share"
            row[name] = _f(_rate(bad.get(code, 0.0), judged.get(code, 0.0)))
            feats.append(row)
        pslot = -2 if self.has_score else -1
        ref, cur = self._cells(seg_slot, pslot)
        value, n = self._performance(seg_slot, lambda x: x == code)
        return {
            "features": feats,
            "prediction_drift": {
                "psi": _f(metrics.population_stability_index(ref, cur[code])) if code in cur else None,
                "on": "score" if self.has_score else "prediction",
            },
            "performance": {"metric": self.metric, "current": _f(value), "n_labeled": n} if n else None,
        }

    def detail(self) -> list[dict[str, Any]]:
        """The `segments` block of one model's detail: per segment feature, per segment."""
        out = []
        for seg_slot, name in self.p.seg_features.items():
            values = [
                {"value": label, "code": code, "rows_24h": n24, "rows_7d": n7, **self.segment_metrics(seg_slot, code)}
                for code, label, n24, n7 in self.segments(seg_slot)
            ]
            values.sort(key=lambda v: (-v["rows_7d"], v["code"]))
            out.append({"feature": name, "values": values})
        return out
