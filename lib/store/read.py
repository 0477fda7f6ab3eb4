"""Read queries for judging: the fleet's specs, reference profiles and profile counts.

Windows are half-open (start, end] on whole hours. Profiles exist per hour and per day; a
window is summed from the whole days inside it plus the hours at its two edges, so any window
is exact while a fleet-wide query reads days, not hours (DESIGN.md, Storage and computation).
The counts of many windows are summed in lib/cube.py from one read of their days. Every
function takes an open connection from lib/store.Store.read() and returns DataFrames (or
numpy arrays, for the large integer fetches).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from lib.store.connection import ref_table
from lib.store.lake_read import inference_source


def hour_ranges(windows: list[tuple[int, pd.Timestamp, pd.Timestamp]]) -> pd.DataFrame:
    frame = pd.DataFrame(windows, columns=["wid", "lo", "hi"])
    frame["lo"] = frame["lo"].astype("datetime64[us]")
    frame["hi"] = frame["hi"].astype("datetime64[us]")
    return frame


def numeric_columns(
    con: duckdb.DuckDBPyConnection,
    model_id: str,
    snapshot_id: int,
    slots: list[int],
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Raw numeric feature values of the reference snapshot and of the window (start, end].

    For exact KS and Wasserstein (one model's detail). NULL comes back as NaN: fetchnumpy()
    returns a masked array for a column with NULLs, and np.asarray would turn them into 0.0.
    """
    cols = ", ".join(f"f{int(s)}" for s in slots)
    ref = con.execute(
        f"SELECT {cols} FROM {ref_table(model_id)} WHERE snapshot_id = ?", [int(snapshot_id)]
    ).fetchnumpy()
    source, params = inference_source(con, model_id, start, end)  # stored rows and lake files alike
    cur = con.execute(f"SELECT {cols} FROM {source}", params).fetchnumpy()

    def floats(column) -> np.ndarray:
        return np.ma.filled(np.ma.asarray(column, dtype="float64"), np.nan)

    return ({int(s): floats(ref[f"f{int(s)}"]) for s in slots}, {int(s): floats(cur[f"f{int(s)}"]) for s in slots})


class Reader:
    """Queries over one open read connection (registers window tables on it)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, model_ids: list[str] | None = None):
        self.con = con
        self.model_ids = model_ids
        # One model's page or `evaluate --model`: read only its profiles, not the fleet's.
        # The view's name is this reader's own, so that two readers can share a connection.
        self._models_view = f"w_models_{id(self)}"
        if model_ids:
            con.register(self._models_view, pd.DataFrame({"model_id": list(model_ids)}, dtype=object))

    def _src(self, table: str) -> str:
        """A profile table, restricted to the requested models when there are any."""
        if not self.model_ids:
            return table
        return f"(SELECT * FROM {table} WHERE model_id IN (SELECT model_id FROM {self._models_view}))"

    def df(self, sql: str, params: list | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).df()

    # -- the fleet ------------------------------------------------------------------------
    def newest_inference(self) -> pd.Timestamp | None:
        value = self.con.execute("SELECT max(max_ts) FROM prof_rows").fetchall()[0][0]
        return None if value is None else pd.Timestamp(value)

    def newest_setup(self) -> pd.Timestamp | None:
        """The newest register or reference ingest of the store: what as_of defaults to while no
        model has logged an inference (issue 14)."""
        return newest_setup(self.con)

    def models(self) -> pd.DataFrame:
        return self.df("SELECT model_id, name, task, owner, team, tags, spec_json FROM models ORDER BY model_id")

    def features(self) -> pd.DataFrame:
        return self.df(
            "SELECT model_id, slot, feature, kind, position FROM features WHERE position IS NOT NULL "
            "ORDER BY model_id, position"
        )

    def snapshots(self) -> pd.DataFrame:
        """The active (newest) reference snapshot of each model."""
        return self.df(
            "SELECT s.* FROM snapshots s JOIN (SELECT model_id, max(snapshot_id) AS snapshot_id "
            "FROM snapshots GROUP BY model_id) a USING (model_id, snapshot_id)"
        )

    def ref_profiles(self) -> pd.DataFrame:
        return self.df(
            "SELECT p.* FROM ref_profile p JOIN (SELECT model_id, max(snapshot_id) AS snapshot_id "
            "FROM snapshots GROUP BY model_id) a USING (model_id, snapshot_id)"
        )

    def labelled_models(self) -> set[str]:
        rows = self.con.execute(
            "SELECT DISTINCT model_id FROM prof_cls UNION SELECT DISTINCT model_id FROM prof_reg"
        ).fetchall()
        return {r[0] for r in rows}

    # -- windows --------------------------------------------------------------------------
    def _register(self, name: str, frame: pd.DataFrame) -> None:
        self.con.register(name, frame)

    def hourly_rows(self, models, lo: pd.Timestamp, hi: pd.Timestamp) -> dict[str, np.ndarray]:
        """Rows per (model, hour) for hours in (lo, hi]: arrays model (the index in `models`),
        hour (hours since 1970) and n."""
        self._register(
            "w_codes",
            pd.DataFrame({"model_id": pd.Series(models, dtype=object), "code": np.arange(len(models), dtype="int64")}),
        )
        return self.con.execute(
            "SELECT c.code AS model, CAST(epoch(p.hour) // 3600 AS BIGINT) AS hour, CAST(sum(p.n) AS BIGINT) AS n "
            "FROM prof_rows p JOIN w_codes c USING (model_id) WHERE p.hour > ? AND p.hour <= ? GROUP BY ALL",
            [lo.to_pydatetime(), hi.to_pydatetime()],
        ).fetchnumpy()

    def files_in(self, windows) -> pd.DataFrame:
        """Inference files with rows in each window that lack or add columns, with those columns."""
        self._register("w_ranges", hour_ranges(windows))
        return self.df(
            "SELECT DISTINCT w.wid, p.model_id, p.file_id, l.file_name, l.missing_features, l.extra_columns "
            f"FROM {self._src('prof_rows')} p JOIN w_ranges w ON p.hour > w.lo AND p.hour <= w.hi "
            "JOIN ingest_log l ON l.file_id = p.file_id "
            "WHERE len(l.missing_features) > 0 OR len(l.extra_columns) > 0"
        )

    def last_inference(self, instants: list[tuple[int, pd.Timestamp]]) -> pd.DataFrame:
        frame = pd.DataFrame(instants, columns=["wid", "t"])
        frame["t"] = frame["t"].astype("datetime64[us]")
        self._register("w_instants", frame)
        return self.df(
            f"SELECT w.wid, p.model_id, max(p.max_ts) AS last_ts FROM {self._src('prof_rows')} p JOIN w_instants w "
            "ON p.hour <= w.t GROUP BY ALL"
        )

    # -- profile counts per cell, for lib/cube.py -------------------------------------------
    # A cell is (model_id, slot, key): key is the bin (numeric) or the value (categorical).
    # Cells are registered with their integer ids so that only integers are fetched: strings
    # cost far more to fetch than to join. Days come back as day numbers (days since 1970).
    def _cells_join(self, table: str, key: str | None, cells: pd.DataFrame, kind: str) -> str:
        """Profile rows joined to the registered cells: on (model_id, slot) and, if given, key."""
        columns = ["model_id", "slot"] + (["key"] if key else [])
        self._register("w_cells", cells[columns + ["cell"]])
        return f"FROM {self._src(table)} p {kind} w_cells c ON c.model_id = p.model_id AND c.slot = p.slot" + (
            f" AND c.key = p.{key}" if key else ""
        )

    def _cell_of(self, table: str, key: str | None, cells: pd.DataFrame) -> tuple[str, str]:
        """(the cell id's SQL, the join) of profile rows to the registered cells. When every
        feature's cells are base + bin for bins 0 … n − 1 (numeric reference bins, lib/judge/
        cube.py), the join is on the features, ~10× fewer rows to build than the cells (the
        join of a 10,000-model timeline's day counts was most of its SQL), and a bin outside
        0 … n − 1 matches no cell, as in the join on the cells."""
        features = _binned_features(cells) if key == "bin" else None
        if features is None:
            return "c.cell", self._cells_join(table, key, cells, "JOIN")
        self._register("w_features", features)
        return "c.base + p.bin", (
            f"FROM {self._src(table)} p JOIN w_features c ON c.model_id = p.model_id AND c.slot = p.slot "
            "AND p.bin >= 0 AND p.bin < c.bins"
        )

    def _hour_ranges(self, ranges) -> None:
        assert all(hi - lo == pd.Timedelta(hours=1) for lo, hi in ranges), "single hours only"
        self._register("w_edges", hour_ranges([(i, lo, hi) for i, (lo, hi) in enumerate(ranges)]))

    _DAY_NUMBER = "CAST(epoch_us(p.day) // 86400000000 AS BIGINT)"

    def cell_days(
        self,
        table: str,
        cells: pd.DataFrame,
        lo: pd.Timestamp,
        hi: pd.Timestamp,
        *,
        key: str | None,
        values: tuple[str, ...] = ("n",),
    ) -> dict:
        """Daily counts of the registered cells, days in (lo, hi]: arrays cell, day (32-bit: half
        the fetch of 64) and the values."""
        cell, join = self._cell_of(table + "_d", key, cells)
        return self.con.execute(
            f"SELECT CAST({cell} AS INTEGER) AS cell, CAST({self._DAY_NUMBER} AS INTEGER) AS day, "
            f"{', '.join(f'p.{v}' for v in values)} {join} WHERE p.day > ? AND p.day <= ?",
            [lo.to_pydatetime(), hi.to_pydatetime()],
        ).fetchnumpy()

    def cell_hours(
        self, table: str, cells: pd.DataFrame, ranges, *, key: str | None, values: tuple[str, ...] = ("n",)
    ) -> dict:
        """Counts of the registered cells in each single hour (lo, hi] of `ranges` (lo = hi − 1 h:
        matched on the hour's end, a hash join; a range join was the slow part of evaluate):
        arrays cell, rid and the values."""
        self._hour_ranges(ranges)
        where, params = _span(ranges)
        sums = ", ".join(f"CAST(sum(p.{v}) AS BIGINT) AS {v}" for v in values)
        cell, join = self._cell_of(table + "_h", key, cells)
        return self.con.execute(
            f"SELECT CAST({cell} AS INTEGER) AS cell, r.wid AS rid, {sums} {join} "
            f"JOIN w_edges r ON p.hour = r.hi WHERE {where} GROUP BY ALL",
            params,
        ).fetchnumpy()

    def _unseen_join(self, table: str, key: str, cells: pd.DataFrame, slots: pd.DataFrame) -> str:
        self._register("w_slots", slots[["model_id", "slot"]])
        return (
            f"{self._cells_join(table, key, cells, 'ANTI JOIN')} "
            "SEMI JOIN w_slots s ON s.model_id = p.model_id AND s.slot = p.slot"
        )

    def unseen_days(
        self, table: str, key: str, cells: pd.DataFrame, slots: pd.DataFrame, lo: pd.Timestamp, hi: pd.Timestamp
    ) -> dict:
        """Daily counts of the given (model_id, slot)s' keys that match no registered cell, days in
        (lo, hi]: arrays model_id, slot, key, day, n."""
        return self.con.execute(
            f"SELECT p.model_id, p.slot, p.{key} AS key, {self._DAY_NUMBER} AS day, p.n "
            f"{self._unseen_join(table + '_d', key, cells, slots)} WHERE p.day > ? AND p.day <= ?",
            [lo.to_pydatetime(), hi.to_pydatetime()],
        ).fetchnumpy()

    def unseen_hours(self, table: str, key: str, cells: pd.DataFrame, slots: pd.DataFrame, ranges) -> dict:
        """Like unseen_days, per single hour of `ranges` (as cell_hours): arrays model_id, slot, key, rid, n."""
        self._hour_ranges(ranges)
        where, params = _span(ranges)
        return self.con.execute(
            f"SELECT p.model_id, p.slot, p.{key} AS key, r.wid AS rid, CAST(sum(p.n) AS BIGINT) AS n "
            f"{self._unseen_join(table + '_h', key, cells, slots)} "
            f"JOIN w_edges r ON p.hour = r.hi WHERE {where} GROUP BY ALL",
            params,
        ).fetchnumpy()

    def first_seen(self, values: pd.DataFrame) -> pd.DataFrame:
        """The first hour each (model, slot, value) appears in the logs (for unseen values, which
        are in the as_of window, that hour is at or before as_of)."""
        self._register("wanted", values[["model_id", "slot", "value"]].drop_duplicates())
        return self.df(
            f"SELECT p.model_id, p.slot, p.value, min(p.hour) AS first_hour FROM {self._src('prof_cat_h')} p "
            "JOIN wanted v USING (model_id, slot, value) GROUP BY ALL"
        )

    def confusion(self, windows) -> pd.DataFrame:
        self._register("w_ranges", hour_ranges(windows))
        return self.df(
            f"SELECT w.wid, p.model_id, p.label, p.prediction, sum(p.n) AS n FROM {self._src('prof_cls')} p "
            "JOIN w_ranges w ON p.hour > w.lo AND p.hour <= w.hi GROUP BY ALL"
        )

    def regression_sums(self, windows) -> pd.DataFrame:
        self._register("w_ranges", hour_ranges(windows))
        # Ordered sums: a parallel floating-point sum differs in the last bit from run to run.
        return self.df(
            "SELECT w.wid, p.model_id, sum(p.n) AS n, sum(p.sse ORDER BY p.hour, p.sse) AS sse, "
            "sum(p.sae ORDER BY p.hour, p.sae) AS sae, sum(p.sy ORDER BY p.hour, p.sy) AS sy, "
            f"sum(p.syy ORDER BY p.hour, p.syy) AS syy FROM {self._src('prof_reg')} p "
            "JOIN w_ranges w ON p.hour > w.lo AND p.hour <= w.hi GROUP BY ALL"
        )

    def scored_labels(self, lo: pd.Timestamp, hi: pd.Timestamp, model_ids: list[str]) -> dict[str, np.ndarray]:
        """Per (model, hour, score) of the given models: positive and negative labels, for hours in (lo, hi].

        NumPy arrays, not a DataFrame: a fleet timeline reads millions of rows, and a string
        column per row costs more than the AUC itself. ``model`` is the position of the row's
        model in ``model_ids``; then ``hour``, ``score``, ``n_pos``, ``n_neg``. Rows in no order.
        """
        # 32-bit codes and counts halve the conversion (a count over 2**31 is an error, not a wrap).
        return self.con.execute(
            "SELECT (w.i - 1)::INTEGER AS model, p.hour, p.score, p.n_pos::INTEGER AS n_pos, "
            f"p.n_neg::INTEGER AS n_neg FROM {self._src('prof_auc')} p "
            "JOIN unnest(?::VARCHAR[]) WITH ORDINALITY AS w(model_id, i) ON p.model_id = w.model_id "
            "WHERE p.hour > ? AND p.hour <= ?",
            [[str(m) for m in model_ids], lo.to_pydatetime(), hi.to_pydatetime()],
        ).fetchnumpy()

    def calibrations(self, model_ids: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The active snapshot's calibration knots (x, y) per model that has them."""
        rows = self.con.execute(
            "SELECT c.model_id, c.x, c.y FROM ref_calibration c JOIN (SELECT model_id, max(snapshot_id) AS s "
            "FROM snapshots GROUP BY model_id) a ON a.model_id = c.model_id AND a.s = c.snapshot_id "
            "WHERE c.model_id IN (SELECT unnest(?::VARCHAR[]))",
            [[str(m) for m in model_ids]],
        ).fetchall()
        return {m: (np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")) for m, x, y in rows}

    def importances(self, model_ids: list[str]) -> pd.DataFrame:
        """Feature importances of each model's active snapshot: model_id, feature, importance, source."""
        return self.con.execute(
            "SELECT i.model_id, i.feature, i.importance, i.source FROM ref_importance i JOIN (SELECT model_id, "
            "max(snapshot_id) AS s FROM snapshots GROUP BY model_id) a ON a.model_id = i.model_id AND "
            "a.s = i.snapshot_id WHERE i.model_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY i.model_id, i.feature",
            [[str(m) for m in model_ids]],
        ).df()

    def scores(self, lo: pd.Timestamp, hi: pd.Timestamp, model_ids: list[str]) -> pd.DataFrame:
        """Rows per (model, hour, score, predicted positive) for hours in (lo, hi]: the estimate's input."""
        return self.con.execute(
            "SELECT model_id, hour, score, pred_pos, n FROM prof_score_h "
            "WHERE model_id IN (SELECT unnest(?::VARCHAR[])) AND hour > ? AND hour <= ?",
            [[str(m) for m in model_ids], lo.to_pydatetime(), hi.to_pydatetime()],
        ).df()


def model_inventory(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per registered model, by model_id: task, owner, team, inference rows, the newest
    inference timestamp (NaT before the first) and the number of reference snapshots.

    For `python -m lib models`. Row counts come from the per-hour profile (`prof_rows`), which
    every ingest writes and a re-profile rebuilds from the stored rows, so it equals the rows.
    """
    return con.execute(
        "SELECT m.model_id, m.task, m.owner, m.team, coalesce(r.n, 0) AS inference_rows, "
        "r.last_ts AS last_inference, coalesce(s.n, 0) AS reference_snapshots FROM models m "
        "LEFT JOIN (SELECT model_id, CAST(sum(n) AS BIGINT) AS n, max(max_ts) AS last_ts FROM prof_rows "
        "GROUP BY model_id) r USING (model_id) "
        "LEFT JOIN (SELECT model_id, count(*) AS n FROM snapshots GROUP BY model_id) s USING (model_id) "
        "ORDER BY m.model_id"
    ).df()


def newest_setup(con) -> pd.Timestamp | None:
    """The newest time a model was registered, updated or given a reference snapshot (naive UTC)."""
    value = con.execute(
        "SELECT greatest((SELECT max(updated_at) FROM models), (SELECT max(created_at) FROM snapshots))"
    ).fetchall()[0][0]
    return None if value is None else pd.Timestamp(value)


def model_ids(con) -> list[str]:
    """Every registered model id, sorted."""
    return [r[0] for r in con.execute("SELECT model_id FROM models ORDER BY model_id").fetchall()]


def _binned_features(cells: pd.DataFrame) -> pd.DataFrame | None:
    """(model_id, slot, base, bins) of the cells' features when each feature's cells are
    consecutive rows with cell = base + key and keys 0 … bins − 1 (lib/judge/cube.py's numeric
    reference cells); None when the cells are anything else."""
    key = cells["key"].to_numpy()
    if not len(cells) or key.dtype.kind not in "iu":
        return None
    model, slot = cells["model_id"].to_numpy(dtype=object), cells["slot"].to_numpy(dtype="int64")
    starts = np.flatnonzero(np.r_[True, (model[1:] != model[:-1]) | (slot[1:] != slot[:-1])])
    sizes = np.diff(np.r_[starts, len(cells)])
    within = np.arange(len(cells)) - np.repeat(starts, sizes)
    base = cells["cell"].to_numpy(dtype="int64") - key.astype("int64")
    if (key != within).any() or (base != np.repeat(base[starts], sizes)).any():
        return None
    features = pd.DataFrame(
        {"model_id": model[starts], "slot": slot[starts], "base": base[starts], "bins": sizes.astype("int64")}
    )
    return None if features.duplicated(["model_id", "slot"]).any() else features


def _span(ranges) -> tuple[str, list]:
    """A filter on p.hour that holds the hour ranges: one (lo, hi] per run of contiguous hours,
    so that the scan of the hour table reads only those days (zone maps), not all between."""
    runs: list[list] = []
    for lo, hi in sorted(ranges):
        if runs and lo <= runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], hi)
        else:
            runs.append([lo, hi])
    sql = " OR ".join("(p.hour > ? AND p.hour <= ?)" for _ in runs)
    return f"({sql})", [t.to_pydatetime() for run in runs for t in run]
