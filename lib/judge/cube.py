"""Drift of many windows at once: profile counts as a dense (cell × day) array in numpy.

A cell is one bin of one feature of one model: a reference decile bin (numeric) or a
category value (categorical, reference categories and unseen values alike). Judging needs
the counts of every cell in many overlapping windows (as_of, the day-ends behind `since` and
`onset`, a 30-day timeline). Summing each window in SQL reads every day once per window that
holds it (a range join, ~7x the rows); here the days the windows span are read once, cumulated
over days, and each window is one subtraction plus its edge hours (windows are summed from
whole days and the hours at their two edges, as in lib/store_read.py). The SQL that fetches
the counts lives in lib/store_read.py; this module is numpy only.

Output per (window, feature): PSI exactly as metrics.population_stability_index (shares
floored at 0.0001, not renormalized, NaN when either side is empty), the unseen count (rows
whose cell has no reference count), the non-NULL current count and the reference total; and,
for one window, the aligned (ref, cur) counts per cell that JS, chi-square and the unseen
values' list need.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from lib.metrics import FLOOR
from lib.store.read import Reader

_DAY_US = 86_400_000_000
_HOUR = pd.Timedelta(hours=1)


def _split(windows) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[pd.Timestamp, pd.Timestamp]], np.ndarray]:
    """Windows (wid, start, end] -> whole days (dstart, dend] as day numbers, and edge hour ranges.

    Returns wids, dstart, dend (dstart == dend: no whole day), the distinct edge hours as ranges
    (h − 1 h, h], and a (windows × hours) 0/1 matrix of which hours each window holds. Every chunk
    of a fleet judges the same windows: splits are cached (read-only arrays).
    """
    return _split_windows(tuple(windows))


@functools.lru_cache(maxsize=16)
def _split_windows(windows: tuple):
    wids, dstart, dend, edges = [], [], [], []
    for wid, start, end in windows:
        ds, de = start.ceil("D"), end.floor("D")
        wids.append(wid)
        if de > ds:
            dstart.append(ds.value // 1000 // _DAY_US)
            dend.append(de.value // 1000 // _DAY_US)
            edges.append([(start, ds)] if ds > start else [])
            if end > de:
                edges[-1].append((de, end))
        else:
            dstart.append(0)
            dend.append(0)
            edges.append([(start, end)])
    # Edge ranges are cut into single hours: the hourly instants behind `since` (issue 14) give
    # ~100 windows whose edges overlap; read as ranges, every profile hour was summed once per
    # range that holds it, read as hours it is read once (and each window adds its hours).
    hours = [
        [(lo + k * _HOUR, lo + (k + 1) * _HOUR) for lo, hi in e for k in range(int((hi - lo) / _HOUR))] for e in edges
    ]
    ranges = sorted({r for e in hours for r in e})
    rid = {r: i for i, r in enumerate(ranges)}
    member = np.zeros((len(wids), len(ranges)))
    for i, e in enumerate(hours):
        for r in e:
            member[i, rid[r]] = 1.0
    out = np.asarray(wids, dtype="int64"), np.asarray(dstart), np.asarray(dend), member
    for array in out:
        array.setflags(write=False)
    return out[0], out[1], out[2], tuple(ranges), out[3]


def _ref_cells(ref: pd.DataFrame, kind: str) -> pd.DataFrame:
    """One row per reference cell: model_id, slot, key (bin number or category), ref count."""
    part = ref[ref["kind"] == kind]
    counts = [np.asarray(c, dtype="int64") for c in part["counts"]]
    lengths = np.fromiter((c.size for c in counts), dtype="int64", count=len(counts))
    if kind == "numeric":
        offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
        keys = np.arange(int(lengths.sum()), dtype="int64") - offsets  # 0, 1, … within each feature
    else:
        keys = (
            np.concatenate([np.asarray(c, dtype=object) for c in part["categories"]])
            if len(counts)
            else np.empty(0, object)
        )
    return pd.DataFrame(
        {
            "model_id": np.repeat(part["model_id"].to_numpy(dtype=object), lengths),
            "slot": np.repeat(part["slot"].to_numpy(dtype="int64"), lengths),
            "key": keys,
            "ref": np.concatenate(counts) if len(counts) else np.empty(0, "int64"),
        }
    )


def _no_rows(where: str, values: tuple[str, ...] = ("n",)) -> dict[str, np.ndarray]:
    """What cell_days / cell_hours return when there is nothing to read."""
    return {c: np.empty(0, "int64") for c in ("cell", where) + values}


def _add_unseen(cells: pd.DataFrame, days: dict, hours: dict, new_days: dict | None, new_hours: dict | None):
    """Cells for the (model, slot, value) rows that match no reference cell; their rows join days / hours."""
    found = [p for p in (new_days, new_hours) if p is not None and len(p["n"])]
    if not found:
        return cells, days, hours
    new = pd.DataFrame({c: np.concatenate([p[c] for p in found]) for c in ("model_id", "slot", "key")})
    new = new.astype({"model_id": object, "slot": "int64", "key": object}).drop_duplicates(ignore_index=True)
    new["ref"] = 0
    new["cell"] = np.arange(len(cells), len(cells) + len(new), dtype="int64")
    lookup = new.set_index(["model_id", "slot", "key"])["cell"]

    def join(rows: dict, new_rows: dict | None, where: str) -> dict:
        if new_rows is None or not len(new_rows["n"]):
            return rows
        idx = pd.MultiIndex.from_arrays(
            [new_rows["model_id"].astype(object), new_rows["slot"].astype("int64"), new_rows["key"].astype(object)]
        )
        cell = lookup.reindex(idx).to_numpy(dtype="int64")
        return {
            "cell": np.r_[rows["cell"], cell],
            where: np.r_[rows[where], new_rows[where]],
            "n": np.r_[rows["n"], new_rows["n"]],
        }

    return (pd.concat([cells, new], ignore_index=True), join(days, new_days, "day"), join(hours, new_hours, "rid"))


def _sum_windows(
    split, lo: int, hi: int, position: np.ndarray, days: dict, hours: dict, values: tuple[str, ...]
) -> np.ndarray:
    """(windows × keys × values) sums: whole days from a cumulative sum over the days (lo, hi],
    edge hours from the per-range sums. `position` maps a row's key id to its place."""
    dstart, dend, member = split
    n, width = len(position), hi - lo + 1
    out = np.zeros((len(dstart), n, len(values)))
    has_days = dend > dstart
    if len(days["cell"]):
        flat = position[days["cell"]] * width + (days["day"] - lo)
        a, b = np.where(has_days, dstart - lo, 0), np.where(has_days, dend - lo, 0)
        for k, v in enumerate(values):
            dense = np.bincount(flat, weights=days[v].astype("float64"), minlength=n * width).reshape(n, width)
            cum = np.cumsum(dense, axis=1)
            out[:, :, k] = (cum[:, b] - cum[:, a]).T
    if len(hours["cell"]):
        # Each window's edge hours are runs of consecutive ranges: each run one subtraction of a
        # cumulative sum over the ranges (exact: whole counts), not a matrix product, whose
        # BLAS threads then spun idle for ~5% of an evaluate's CPU.
        windows, start, end = _runs(member)
        rank = np.arange(len(windows)) - np.searchsorted(windows, windows)  # the run's number in its window
        for k, v in enumerate(values):
            per_range = np.zeros((member.shape[1], n))
            np.add.at(per_range, (hours["rid"], position[hours["cell"]]), hours[v].astype("float64"))
            cum = np.vstack((np.zeros((1, n)), np.cumsum(per_range, axis=0)))
            for j in range(int(rank.max()) + 1 if len(rank) else 0):
                pick = rank == j  # at most one run per window: no index twice in one +=
                out[windows[pick], :, k] += cum[end[pick]] - cum[start[pick]]
    return out


def _runs(member: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The runs of consecutive 1s in each row of a 0/1 (windows × ranges) matrix: arrays window,
    start, end (exclusive), ordered by window then start."""
    w, r = np.nonzero(member)
    first = np.flatnonzero(np.r_[True, (w[1:] != w[:-1]) | (r[1:] != r[:-1] + 1)]) if len(w) else np.empty(0, "int64")
    last = np.r_[first[1:], len(w)] - 1
    return w[first], r[first], r[last] + 1


def _day_span(dstart: np.ndarray, dend: np.ndarray) -> tuple[int, int]:
    """The day numbers (lo, hi] that the windows' whole days span (0, 0 when none has a day)."""
    has_days = dend > dstart
    return (int(dstart[has_days].min()), int(dend[has_days].max())) if has_days.any() else (0, 0)


QUALITY = ("n_null", "n_below", "n_above", "n_inf")


def quality_by_window(reader: Reader, windows, slots: pd.DataFrame) -> pd.DataFrame:
    """NULL, below / above range and ±inf counts per (wid, model_id, slot) of the given slots,
    every window from one read of the days they span (0 where a slot has no rows)."""
    wids, dstart, dend, ranges, member = _split(windows)
    keys = slots[["model_id", "slot"]].drop_duplicates(ignore_index=True)
    keys["cell"] = np.arange(len(keys), dtype="int64")
    lo, hi = _day_span(dstart, dend)
    day_range = (pd.Timestamp(lo * _DAY_US, unit="us"), pd.Timestamp(hi * _DAY_US, unit="us"))
    days = (
        reader.cell_days("prof_qual", keys, *day_range, key=None, values=QUALITY)
        if hi > lo
        else _no_rows("day", QUALITY)
    )
    hours = (
        reader.cell_hours("prof_qual", keys, ranges, key=None, values=QUALITY) if ranges else _no_rows("rid", QUALITY)
    )
    sums = _sum_windows((dstart, dend, member), lo, hi, np.arange(len(keys)), days, hours, QUALITY)
    n = len(keys)
    out = pd.DataFrame(
        {
            "wid": np.repeat(wids, n),
            "model_id": np.tile(keys["model_id"].to_numpy(dtype=object), len(wids)),
            "slot": np.tile(keys["slot"].to_numpy(dtype="int64"), len(wids)),
        }
    )
    for k, v in enumerate(QUALITY):
        out[v] = sums[:, :, k].ravel().astype("int64")
    return out


class DriftCube:
    """Reference and window counts of every cell of one kind of feature, for many windows."""

    def __init__(self, reader: Reader, windows, ref: pd.DataFrame, kind: str, slots: pd.DataFrame):
        """`ref`: the active reference profiles; `slots`: the (model_id, slot)s judged (a value
        of another slot never becomes an unseen cell)."""
        self.kind = kind
        self.wids, dstart, dend, ranges, member = _split(windows)
        cells = _ref_cells(ref, kind)
        cells["cell"] = np.arange(len(cells), dtype="int64")
        table = "prof_num" if kind == "numeric" else "prof_cat"
        key = "bin" if kind == "numeric" else "value"
        has_days = dend > dstart
        lo, hi = _day_span(dstart, dend)
        day_range = (pd.Timestamp(lo * _DAY_US, unit="us"), pd.Timestamp(hi * _DAY_US, unit="us"))
        days = reader.cell_days(table, cells, *day_range, key=key) if has_days.any() else _no_rows("day")
        hours = reader.cell_hours(table, cells, ranges, key=key) if ranges else _no_rows("rid")
        if kind == "categorical":
            # Unseen values (no reference cell) get cells of their own.
            new_days = reader.unseen_days(table, key, cells, slots, *day_range) if has_days.any() else None
            new_hours = reader.unseen_hours(table, key, cells, slots, ranges) if ranges else None
            cells, days, hours = _add_unseen(cells, days, hours, new_days, new_hours)
        self._order_cells(cells)
        self.sums = _sum_windows((dstart, dend, member), lo, hi, self.rank, days, hours, ("n",))[:, :, 0]

    def _order_cells(self, cells: pd.DataFrame) -> None:
        """Sort cells by (model, slot, key) so that each feature's cells are contiguous."""
        model_code = pd.factorize(cells["model_id"].to_numpy(dtype=object), sort=True)[0]
        key = cells["key"].to_numpy()
        key_code = pd.factorize(key.astype(object) if self.kind == "categorical" else key.astype("int64"), sort=True)[0]
        order = np.lexsort((key_code, cells["slot"].to_numpy(dtype="int64"), model_code))
        # cells["cell"] == its row number, so rank maps a cell id to its sorted position
        self.rank = np.empty(len(cells), dtype="int64")
        self.rank[order] = np.arange(len(cells))
        self.cells = cells.iloc[order].reset_index(drop=True)
        # each feature's first cell: where (model, slot) changes along the sorted cells
        slots = self.cells["slot"].to_numpy(dtype="int64")
        change = (model_code[order][1:] != model_code[order][:-1]) | (slots[1:] != slots[:-1])
        self.starts = np.flatnonzero(np.r_[True, change]) if len(cells) else np.empty(0, "int64")
        self.ref = self.cells["ref"].to_numpy(dtype="float64")

    def summary(self) -> pd.DataFrame:
        """Per (wid, model_id, slot): psi, unseen, nonnull, ref_total."""
        starts, n_w = self.starts, len(self.wids)
        if not len(starts):
            return pd.DataFrame(
                {"wid": [], "model_id": [], "slot": [], "psi": [], "unseen": [], "nonnull": [], "ref_total": []}
            )
        size = np.diff(np.r_[starts, len(self.ref)])
        rt = np.add.reduceat(self.ref, starts)
        ct = np.add.reduceat(self.sums, starts, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):  # empty sides are NaN below
            r = np.maximum(self.ref / np.repeat(rt, size), FLOOR)
            c = np.maximum(self.sums / np.repeat(ct, size, axis=1), FLOOR)
            psi = np.add.reduceat((c - r) * np.log(c / r), starts, axis=1)
        psi[(ct == 0) | (rt == 0)[None, :]] = np.nan
        unseen = np.add.reduceat(self.sums * (self.ref == 0), starts, axis=1)
        first = self.cells.iloc[starts]
        return pd.DataFrame(
            {
                "wid": np.repeat(self.wids, len(starts)),
                "model_id": np.tile(first["model_id"].to_numpy(dtype=object), n_w),
                "slot": np.tile(first["slot"].to_numpy(dtype="int64"), n_w),
                "psi": psi.ravel(),
                "unseen": unseen.ravel(),
                "nonnull": ct.ravel(),
                "ref_total": np.tile(rt, n_w),
            }
        )

    def aligned(self, wid: int, as_wid: int | None = None) -> pd.DataFrame:
        """(wid, model_id, slot, bin|value, ref, cur) of one window, ordered by model, slot, key
        (the wid column says `as_wid` if given).

        Every reference cell; an unseen value only where the window holds it.
        """
        cur = self.sums[int(np.flatnonzero(self.wids == wid)[0])]
        wid = wid if as_wid is None else as_wid
        keep = (self.ref > 0) | (cur > 0) if self.kind == "categorical" else np.ones(len(cur), dtype=bool)
        part = self.cells[keep]
        return pd.DataFrame(
            {
                "wid": wid,
                "model_id": part["model_id"].to_numpy(dtype=object),
                "slot": part["slot"].to_numpy(dtype="int64"),
                ("bin" if self.kind == "numeric" else "value"): part["key"].to_numpy(),
                "ref": part["ref"].to_numpy(dtype="int64"),
                "cur": cur[keep].astype("int64"),
            }
        )
