"""Assembling each model's `evaluate` JSON from the long check frame: status, reasons (ordered, with
since / onset), features, prediction drift, performance, checks and timeline blocks."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from lib import metrics
from lib.judge.blocks import check_blocks, feature_blocks
from lib.judge.checks import Judge
from lib.judge.estimate import estimate_block, estimates_at, performance_block
from lib.judge.importance import annotate, explain_prediction_drift, load_importance
from lib.judge.messages import message
from lib.judge.onset import Onset
from lib.judge.policy import CHECK_ORDER
from lib.judge.remedy import remedy_block
from lib.judge.status import GREEN, GREY, RED, YELLOW
from lib.judge.windows import iso
from lib.store.read import Reader

_CHECK_RANK = {c: i for i, c in enumerate(CHECK_ORDER)}


def _num(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) or math.isinf(value) else value


# The columns each check's JSON blocks and messages read (dicts of only these are built: a
# fleet has ~30,000 check rows at as_of, and building wide dicts was a tenth of evaluate).
_COMMON_COLUMNS = ("model_id", "check", "feature", "feature_key", "flagged", "status", "value", "yellow", "red")
_COMMON_COLUMNS += ("threshold_source", "yellow_source", "red_source")
_CHECK_COLUMNS = {
    "feature_drift": ("slot", "psi"),
    "prediction_drift": ("on",),
    "missing": ("share",),
    "unseen_categories": ("slot",),
    "out_of_range": ("vmin", "vmax"),
    "performance": ("metric", "reference", "current", "n_labeled"),
    "performance_estimate": ("metric", "reference", "estimated", "n_scored"),
    "volume": ("rows24", "baseline", "baseline_weeks"),
    "freshness": ("last_ts",),
    "schema": ("files", "problem"),
}


def _records(frame: pd.DataFrame, columns) -> list[dict]:
    """frame.to_dict("records") on the given columns, the same values (numpy columns + zip:
    pandas 3's Arrow-backed strings make to_dict and itertuples slow element by element)."""
    columns = [c for c in columns if c in frame.columns]
    arrays = [frame[c].to_numpy(dtype=object) for c in columns]
    return [dict(zip(columns, row)) for row in zip(*arrays)]


def _aligned_groups(frame: pd.DataFrame) -> tuple[list[tuple[str, int]], np.ndarray, np.ndarray, np.ndarray]:
    """The (model_id, slot) groups of aligned bins: keys, and ref / cur counts and sizes with
    each group's bins consecutive, in the frame's order (what groupby(...).indices gives)."""
    model_codes, model_ids = pd.factorize(frame["model_id"].to_numpy(dtype=object))
    slot_codes, slots = pd.factorize(frame["slot"].to_numpy())
    codes, keys = pd.factorize(model_codes.astype(np.int64) * len(slots) + slot_codes)
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes, minlength=len(keys))
    names = [(model_ids[k // len(slots)], int(slots[k % len(slots)])) for k in keys.tolist()]
    return (names, frame["ref"].to_numpy(dtype="float64")[order], frame["cur"].to_numpy(dtype="float64")[order], sizes)


class Assembler:
    """Turns the long check frame into the JSON blocks of each model."""

    def __init__(self, judge: Judge, checks: pd.DataFrame, as_of: pd.Timestamp, reader: Reader):
        self.judge, self.as_of, self.reader = judge, as_of, reader
        self.wid0 = judge.wid[as_of]
        # The check frame is long (every instant of a timeline): take the rows of as_of and
        # the flagged rows first, and work on those small parts only.
        flagged = checks["status"].isin([YELLOW, RED]).to_numpy()
        wids = checks["wid"].to_numpy()
        now = checks[wids == self.wid0]
        feature = now["feature"].to_numpy(dtype=object)
        now = now.assign(feature_key=np.where(pd.isna(feature), "", feature), flagged=flagged[wids == self.wid0])
        # Dicts only for the reasons (flagged rows) and the model-level blocks; the features
        # and checks blocks are built column-wise from the frame (lib/judge/blocks.py).
        self.now_by_model: dict[str, list[dict]] = {}
        checks_now = now["check"].to_numpy(dtype=object)
        wanted = now["flagged"].to_numpy(dtype=bool) | np.isin(checks_now, _MODEL_BLOCKS)
        for check, extra in _CHECK_COLUMNS.items():
            for rec in _records(now[wanted & (checks_now == check)], _COMMON_COLUMNS + extra):
                rec["flagged"] = bool(rec["flagged"])
                self.now_by_model.setdefault(rec["model_id"], []).append(rec)
        self.check_blocks = check_blocks(now)
        rows0 = judge.rows[judge.rows["wid"] == self.wid0]
        self.rows24 = dict(zip(rows0["model_id"].tolist(), rows0["rows24"].tolist()))
        # JS of every (model, slot) and chi2 of every categorical one at as_of, vectorized
        # (bit-identical to the metrics functions called group by group).
        self.js: dict[tuple[str, int], float] = {}
        self.chi2: dict[tuple[str, int], float] = {}
        for frame, categorical in ((judge.num7, False), (judge.cat7, True)):
            part = frame[frame["wid"] == self.wid0]
            if part.empty:
                continue
            keys, ref, cur, sizes = _aligned_groups(part)
            self.js.update(zip(keys, metrics.jensen_shannon_grouped(ref, cur, sizes).tolist()))
            if categorical:
                self.chi2.update(zip(keys, metrics.chi2_p_value_grouped(ref, cur, sizes).tolist()))
        # flagged (model, check, feature) per instant, for since / onset
        hist = checks[flagged]
        feature = hist["feature"].to_numpy(dtype=object)
        self.flag_set = set(
            zip(
                hist["wid"].tolist(),
                hist["model_id"].tolist(),
                hist["check"].tolist(),
                np.where(pd.isna(feature), "", feature).tolist(),
            )
        )
        # (wid, model) before the model's first inference: "no data" in a timeline (issue 14)
        fresh = checks[(checks["check"].to_numpy(dtype=object) == "freshness") & checks["last_ts"].isna().to_numpy()]
        self.no_data = set(zip(fresh["wid"].tolist(), fresh["model_id"].tolist()))
        # model status per instant (timeline)
        self.model_status = self._model_status(hist)
        self.since_onset = Onset(self.flag_set, judge.wid, judge.instants, as_of)
        self.ref_counts: dict[tuple[str, int], dict[str, int]] = {}  # reference counts of the unseen values' features
        self.unseen = self._unseen_values()
        snaps = judge.fleet.snapshots
        self.snapshots = dict(zip(snaps["model_id"].tolist(), snaps["snapshot_id"].tolist()))
        self.feature_blocks = feature_blocks(self.judge.fleet.features, now, self.js, self.chi2)
        models = judge.models
        self.info = dict(
            zip(
                models.index.tolist(),
                zip(*(models[c].to_numpy(dtype=object) for c in ("name", "task", "owner", "team", "tags"))),
            )
        )
        self.estimates = estimates_at(judge.estimates, now, self.wid0)
        self.importance = load_importance(reader, list(judge.models.index))
        self._timeline: tuple[list[pd.Timestamp] | None, list[tuple[str, int]]] = (None, [])

    def _model_status(self, flagged: pd.DataFrame) -> dict[tuple[int, str], str]:
        """Model status per (wid, model): red, else yellow, else grey if the drift window is thin, else green.

        `flagged`: the yellow and red rows of the check frame."""
        worst = (
            flagged[["wid", "model_id"]]
            .assign(rank=np.where(flagged["status"] == RED, 0, 1))
            .groupby(["wid", "model_id"])["rank"]
            .min()
            .rename("rank")
            .reset_index()
        )
        rows = self.judge.rows.merge(worst, on=["wid", "model_id"], how="left")
        # A model without a reference snapshot cannot be judged on its inputs either: grey.
        # No row in the drift window (e.g. before the first inference): grey even when min_rows is 0.
        thin = (
            (rows["rows7"] < rows["min_rows"]) | (rows["rows7"] == 0) | ~rows["model_id"].isin(self.judge.has_reference)
        )
        status = np.select([rows["rank"] == 0, rows["rank"] == 1, thin], [RED, YELLOW, GREY], default=GREEN)
        return dict(zip(zip(rows["wid"].tolist(), rows["model_id"].tolist()), status.tolist()))  # plain str

    def _unseen_values(self) -> dict[tuple[str, int], list[dict]]:
        c = self.judge.cat24
        new = c[(c["wid"] == self.wid0) & (c["ref"] == 0) & (c["cur"] > 0)]
        if new.empty:
            return {}
        known = c[(c["wid"] == self.wid0) & (c["ref"] > 0) & c["model_id"].isin(set(new["model_id"]))]
        # {(model_id, slot): {value: ref count}} in the rows' order (a groupby per pair was slow)
        pairs = zip(known["model_id"].tolist(), known["slot"].tolist())
        for key, value, ref in zip(pairs, known["value"].tolist(), known["ref"].astype(int).tolist()):
            self.ref_counts.setdefault(key, {})[value] = ref
        first = self.reader.first_seen(new)
        new = new.merge(first, on=["model_id", "slot", "value"], how="left").sort_values(
            ["cur", "value"], ascending=[False, True]
        )
        out: dict[tuple[str, int], list[dict]] = {}
        for rec in new.itertuples(index=False):
            # first_hour is the end of the hour of the first row: the row arrived within the hour before.
            out.setdefault((rec.model_id, rec.slot), []).append(
                {"value": rec.value, "count": int(rec.cur), "first_seen": iso(rec.first_hour)}
            )
        return out

    def timeline_days(self, timeline: list[pd.Timestamp]) -> list[tuple[str, int]]:
        """(date, wid) of each timeline instant, computed once for all models."""
        if self._timeline[0] is not timeline:
            self._timeline = (
                timeline,
                [((t - pd.Timedelta(microseconds=1)).date().isoformat(), self.judge.wid[t]) for t in timeline],
            )
        return self._timeline[1]

    # -- blocks ------------------------------------------------------------------------------
    def model(self, model_id: str, raw: dict, timeline: list[pd.Timestamp]) -> dict[str, Any]:
        name, task, owner, team, tags = self.info[model_id]
        recs = self.now_by_model.get(model_id, [])
        by = {(r["check"], r["feature_key"]): r for r in recs}
        fresh = by.get(("freshness", ""), {})
        snaps = self.snapshots
        out: dict[str, Any] = {
            "model_id": model_id,
            "status": self.model_status.get((self.wid0, model_id), GREY),
            "reasons": (reasons := self.reasons(model_id, recs)),
            # reason-free: a model that has not logged yet is grey, and this says why (DESIGN)
            "message": NO_INFERENCE if not fresh or pd.isna(fresh.get("last_ts")) else None,
            "name": name,
            "task": task,
            "owner": owner,
            "team": team,
            "tags": list(tags),
            "features": (features := self.features(model_id, raw)),
            "prediction_drift": self.prediction_drift(by),
            "performance": (perf := performance_block(by.get(("performance", "")), _num)),
            "performance_estimate": estimate_block(self.estimates.get(model_id), perf),
            "checks": self.check_blocks.get(model_id, []),
            "rows_24h": int(self.rows24.get(model_id, 0)),
            "last_inference": iso(fresh.get("last_ts")) if fresh else None,
            "reference_snapshot": int(snaps[model_id]) if model_id in snaps else None,
        }
        importance = self.importance.get(model_id)
        explain_prediction_drift(reasons, features, annotate(features, importance) if importance else None)
        if timeline:
            status = self.model_status
            out["timeline"] = [
                {"date": date, "status": GREY, "no_data": True}
                if (wid, model_id) in self.no_data
                else {"date": date, "status": status.get((wid, model_id), GREY)}
                for date, wid in self.timeline_days(timeline)
            ]
        return out

    def reasons(self, model_id: str, recs: list[dict]) -> list[dict[str, Any]]:
        items = []
        for rec in recs:
            if not rec["flagged"]:
                continue
            threshold = rec["red"] if rec["status"] == RED else rec["yellow"]
            value = _num(rec["value"])
            ratio = (value or 0.0) / threshold if threshold else 0.0
            since, onset = self.since_onset(model_id, rec["check"], rec["feature_key"])
            feature = rec["feature"] if isinstance(rec["feature"], str) else None
            # the source of the threshold reached (a feature block may override red only)
            source = rec.get("red_source" if rec["status"] == RED else "yellow_source")
            item = {
                "check": rec["check"],
                "status": rec["status"],
                "feature": feature,
                "value": value,
                "threshold": _num(threshold),
                "threshold_source": source if isinstance(source, str) else rec.get("threshold_source"),
                "since": since,
                "onset": onset,
                "message": message(rec, value, threshold, self),
            }
            if rec["check"] == "unseen_categories":
                key = (model_id, int(rec["slot"]))
                item["unseen_values"] = self.unseen.get(key, [])
                item["remedy"] = remedy_block(model_id, feature, item["unseen_values"], self.ref_counts.get(key, {}))
            if rec["check"] == "schema":
                item["files"] = rec.get("files")
            share = self.importance.get(model_id, {}).get(feature or "", (0.0,))[0]  # ties: important first
            items.append(
                (0 if rec["status"] == RED else 1, _CHECK_RANK[rec["check"]], -ratio, -share, feature or "", item)
            )
        items.sort(key=lambda t: t[:5])
        return [t[5] for t in items]

    def features(self, model_id: str, raw: dict) -> list[dict[str, Any]]:
        out = []
        for name, slot, kind, psi, js, chi2, missing, share, status, by_check in self.feature_blocks.get(model_id, []):
            # dict literals, key order as the contract's (200,000 of them in a 10,000-model fleet);
            # importance, importance_source, drift_importance: None until annotate() sets them
            if kind == "categorical":
                entry = {"feature": name, "kind": kind, "psi": psi, "js": js, "chi2_p": chi2}
                entry |= {"missing_share": missing, "unseen_share": share, "status": status, "check_status": by_check}
            elif slot in raw:
                ks, wasserstein = _num(raw[slot]["ks"]), _num(raw[slot]["wasserstein"])
                entry = {"feature": name, "kind": kind, "psi": psi, "js": js, "ks": ks, "wasserstein": wasserstein}
                entry |= {"missing_share": missing, "out_of_range_share": share, "status": status}
                entry["check_status"] = by_check
            else:
                entry = {"feature": name, "kind": kind, "psi": psi, "js": js, "missing_share": missing}
                entry |= {"out_of_range_share": share, "status": status, "check_status": by_check}
            entry |= _NO_IMPORTANCE
            out.append(entry)
        return out

    def prediction_drift(self, by: dict) -> dict[str, Any] | None:
        rec = by.get(("prediction_drift", ""))
        return None if rec is None else {"psi": _num(rec["value"]), "on": rec["on"]}


NO_INFERENCE = "no inference logged yet"
_NO_IMPORTANCE = {"importance": None, "importance_source": None, "drift_importance": None}
_MODEL_BLOCKS = ("prediction_drift", "performance", "performance_estimate", "freshness")
