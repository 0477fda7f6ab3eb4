"""One demo model's files, made in a worker process: fit its model, write its reference snapshot,
inference log (with its scenario injected) and late labels as Parquet."""

from __future__ import annotations

import contextlib
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from lib.demo.domains import DOMAINS, Cat, Domain
from lib.demo.estimators import _frame, _pipeline, _predict, own_importance
from lib.demo.fleet import MIN_ROWS_PER_DAY, SHOWCASE, ModelPlan, model_spec, segment_feature
from lib.demo.sample import _draw, _labels, _signal, _vary, _with_missing

N_TRAIN = 3000  # training rows per model
N_REFERENCE = 4000  # hold-out (reference) rows per model
N_REFERENCE_LABELLED = 8000  # ... per model that receives labels: a steadier performance baseline
N_IMPORTANCE = 500  # hold-out rows the model's own permutation importance is measured on
# The showcase models leave `importance:` out of their spec: their reference ingest measures it
# (the surrogate of lib.metrics.importance), as it does for a user's model. The others declare
# the importance measured on their own model (estimators.own_importance): the surrogate's fit
# was the largest single cost of the demo build (issue 14).
MEASURED_AT_INGEST = frozenset(s["model_id"] for s in SHOWCASE.values())
RAMP_DAYS = 21.0  # gradual drift and concept drift ramp up over the last 21 days
_DAY_MS = 86_400_000

# Inside a worker, a categorical feature is an array of integer codes into its vocabulary (the
# reference levels, then any unseen values; -1 is NULL) and a class label is an index into the
# domain's classes: text is made only when a file is written (by Arrow, in C), which keeps the
# whole default fleet well inside its time budget. The fitted pipeline takes the same codes,
# as a vocabulary lookup in front of a served model would give it; its OneHotEncoder ignores
# codes it never saw (unseen values) and treats NULL as a category of its own.


def _layout(plan: ModelPlan, days: int, end_ms: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted inference timestamps (epoch ms): rows of day k fall in (start_k, start_k + 24 h]."""
    chunks = []
    for k in range(days):
        age = days - 1 - k  # 0 = the last 24 h
        day_end = end_ms - age * _DAY_MS
        weekday = datetime.fromtimestamp(day_end / 1000, tz=UTC).weekday()
        n = plan.rows_per_day
        if plan.scenario != "too-little-data":
            n = max(MIN_ROWS_PER_DAY, int(round(n * (1.0 + 0.05 * math.cos(2 * math.pi * (weekday - 5) / 7)))))
        if plan.scenario == "volume-drop" and age == 0:
            n = int(round(n * 0.06))
        if plan.scenario == "stale" and age < 3:
            n = 0
        if n:
            chunks.append(np.sort(day_end - _DAY_MS + rng.integers(1, _DAY_MS + 1, n)))
    ts = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
    if len(ts) and ts[-1] > end_ms - _DAY_MS:
        # The newest row sits just before `end`, so the store's as_of is exactly `end`.
        ts[-1] = end_ms - 1000 * (1 + plan.index % 50)
        ts = np.sort(ts)
    return ts


def _text(codes: np.ndarray, vocabulary):
    """Arrow text array from codes into a vocabulary (-1: NULL), decoded in C."""
    import pyarrow as pa

    indices = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(vocabulary), type=pa.string())).cast(pa.string())


def _classes(domain: Domain, idx: np.ndarray):
    """Class indices as the label values of the files (integers or text)."""
    import pyarrow as pa

    if isinstance(domain.classes[0], str):
        return _text(idx, domain.classes)
    return pa.array(np.asarray(domain.classes, dtype=np.int64)[idx])


def _write_parquet(path: Path, columns: dict[str, Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for name, values in columns.items():
        if isinstance(values, (pa.Array, pa.ChunkedArray)):
            arrays[name] = values
        elif name == "ts":
            arrays[name] = pa.array(values.astype("datetime64[ms]"), type=pa.timestamp("ms", tz="UTC"))
        else:
            arrays[name] = pa.array(values, from_pandas=True)  # float NaN -> NULL
    # Plain pages (no dictionary, statistics or compression): the file is read once, by the same
    # worker, and deleted; plain pages write in a third of the time (10.5 -> 3.5 ms for a month
    # of one model's logs) and read a fifth faster. Ingest reads every Parquet encoding alike.
    pq.write_table(pa.table(arrays), path, compression="none", use_dictionary=False, write_statistics=False)


# The demo build's worker processes set native thread pools to one thread once, for good
# (build._init_worker): limiting them per model cost ~4 ms a call (threadpoolctl finds the
# libraries each time), 1.6% of a worker's time.
_ONE_THREAD_FOR_GOOD: Any = None


def one_thread():
    """Native thread pools (BLAS, OpenMP) on one thread within: the build runs one model per core."""
    if _ONE_THREAD_FOR_GOOD is not None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def generate_model(plan: ModelPlan, days: int, end: datetime, seed: int, out_dir: str) -> dict[str, Any]:
    """Generate one model's files; returns its spec and [(kind, path), ...] in ingest order."""
    with one_thread():
        return _generate(plan, days, end, seed, Path(out_dir))


def _generate(plan: ModelPlan, days: int, end: datetime, seed: int, out: Path) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    domain = DOMAINS[plan.domain]
    rng = np.random.default_rng((seed, plan.index))
    params = _vary(domain, rng)
    spec = model_spec(plan)
    cats = [f for f in domain.features if isinstance(f, Cat)]
    vocab = {f.name: list(params["features"][f.name]["levels"]) for f in cats}

    # Training and hold-out sets, from the same (pre-deployment) distribution.
    n_fit = N_TRAIN + (N_REFERENCE if plan.labels == "none" else N_REFERENCE_LABELLED)
    X = _draw(domain, params, n_fit, rng)
    y = _labels(domain, params, _signal(domain, params, X), rng)
    Xl = _with_missing(domain, X, rng)
    frame = _frame(domain, Xl)
    train, hold = slice(0, N_TRAIN), slice(N_TRAIN, n_fit)
    pipe = _pipeline(domain, plan.estimator, random_state=plan.index)
    pipe.fit(frame[train], y[train])
    ref_pred, ref_score = _predict(domain, pipe, frame[hold])
    if plan.model_id not in MEASURED_AT_INGEST:
        weights = own_importance(domain, pipe, frame[N_TRAIN : N_TRAIN + N_IMPORTANCE], seed=(seed, plan.index))
        if weights:
            spec["importance"] = weights

    def feature_columns(values: dict[str, np.ndarray], rows) -> dict[str, Any]:
        return {
            f.name: (_text(values[f.name][rows], vocab[f.name]) if isinstance(f, Cat) else values[f.name][rows])
            for f in domain.features
        }

    def outputs(label, pred) -> Any:
        return pred if domain.task == "regression" else _classes(domain, pred)

    files: list[tuple[str, str]] = []
    ref_cols = feature_columns(Xl, hold)
    ref_cols["label"] = outputs(None, y[hold])
    ref_cols["prediction"] = outputs(None, ref_pred)
    if plan.has_score:
        ref_cols["score"] = ref_score
    path = out / f"{plan.model_id}.reference.parquet"
    _write_parquet(path, ref_cols)
    files.append(("reference", str(path)))

    # Inference logs.
    end_ms = int(end.timestamp() * 1000)
    ts = _layout(plan, days, end_ms, rng)
    n = len(ts)
    age = (end_ms - ts) / _DAY_MS  # days before `end`, in (0, days]
    last = age < 1.0
    shifts = None
    if plan.scenario == "gradual-drift":
        shifts = {domain.drift: 1.0 * np.clip(1.0 - age / RAMP_DAYS, 0.0, 1.0)}
    Xi = _draw(domain, params, n, rng, shifts)
    if plan.scenario == "unseen-categories":
        feat, new = domain.unseen
        base = len(vocab[feat])
        vocab[feat] = vocab[feat] + list(new)
        hit = last & (rng.random(n) < 0.5)
        Xi[feat] = np.where(hit, base + rng.integers(len(new), size=n), Xi[feat])
    flip = np.clip(1.0 - age / RAMP_DAYS, 0.0, 1.0) if plan.scenario == "performance-decay" else None
    yi = _labels(domain, params, _signal(domain, params, Xi, flip), rng)
    # What upstream logged (and served to the model).
    extra_missing = None
    if plan.scenario == "missing-spike":
        # about 40% of the rows, all from one feed: the segment feature's most frequent value
        # (issue 13: the model page and the reason name that segment)
        rate: Any = 0.40
        if (seg := segment_feature(plan)) is not None:
            weights = np.asarray(params["features"][seg]["weights"], dtype=float)
            top = int(np.argmax(weights))
            rate = np.where(Xi[seg] == top, min(0.95, 0.40 / (weights[top] / weights.sum())), 0.0)
        extra_missing = {domain.missing: np.where(last, rate, 0.0)}
    Xs = _with_missing(domain, Xi, rng, extra_missing)
    if plan.scenario == "out-of-range":
        feat, factor, offset, _ = domain.units
        Xs[feat] = np.where(last, np.round(Xs[feat] * factor + offset, 2), Xs[feat])
    if plan.scenario == "schema-missing-column":
        feat = domain.dropped
        Xs[feat] = np.where(last, -1 if Xs[feat].dtype.kind == "i" else np.nan, Xs[feat])
    inf_frame = _frame(domain, Xs)
    pred, score = _predict(domain, pipe, inf_frame)
    if plan.scenario == "prediction-drift" and n:
        # A v2 model with a bug in its training data (the target shifted up by 1.2 standard
        # deviations; the positive class over-sampled 15 times; the most common class's labels
        # mapped onto the rarest class), rolled out six days ago after a day as a 25% canary.
        v2 = _pipeline(domain, plan.estimator, random_state=plan.index + 1)
        Xt, yt = frame[train], y[train]
        if domain.task == "regression":
            v2.fit(Xt, yt + 1.2 * yt.std())
        elif domain.task == "binary_classification":
            idx = np.concatenate([np.arange(len(yt))] + [np.flatnonzero(yt == 1)] * 14)
            v2.fit(Xt[idx], yt[idx])
        else:
            counts = np.bincount(yt, minlength=len(domain.classes))
            merged = np.where(yt == np.argmax(counts), np.argmin(counts), yt)
            v2.fit(Xt, merged)
        share = np.where(age < 6.0, 1.0, np.where(age < 7.0, 0.25, 0.0))
        on_v2 = np.flatnonzero(rng.random(n) < share)
        if len(on_v2):
            p2, s2 = _predict(domain, v2, inf_frame[on_v2])
            pred[on_v2] = p2
            if score is not None:
                score[on_v2] = s2

    # Request ids: "<model index>-<row>", unique in the fleet.
    rid = pc.binary_join_element_wise(f"{plan.index:04d}", pa.array(np.arange(n)).cast(pa.string()), "-")
    cols: dict[str, Any] = {"ts": ts, "request_id": rid}
    cols.update(feature_columns(Xs, slice(None)))
    cols["prediction"] = outputs(None, pred)
    if plan.has_score:
        cols["score"] = score
    if plan.labels == "logged":
        cols["label"] = outputs(None, yi)
    # One file per model; the schema scenarios split off the last 24 h into a second file,
    # where the change lands (fewer files keep the build fast: every file costs a transaction).
    split = plan.scenario in ("schema-missing-column", "schema-extra-column")
    for part, mask in (("1", ~last), ("2", last)) if split else (("1", np.ones(n, dtype=bool)),):
        if not mask.any():
            continue
        where = pa.array(mask)
        sub = {k: (v.filter(where) if isinstance(v, pa.Array) else v[mask]) for k, v in cols.items()}
        if part == "2" and plan.scenario == "schema-missing-column":
            sub.pop(domain.dropped)
        if part == "2" and plan.scenario == "schema-extra-column":
            colname, values = domain.extra
            sub[colname] = _text(rng.integers(len(values), size=int(mask.sum())), values)
        path = out / f"{plan.model_id}.inference-{part}.parquet"
        _write_parquet(path, sub)
        files.append(("inference", str(path)))
    if plan.labels == "late" and n:
        # Labels arrive within a day for most rows: enough labelled rows in the 7-day window
        # that a healthy model's metric stays well inside the 5% yellow band. Healthy models'
        # label files cover the last 14 days (a smaller store; the decay is seen from its start).
        healthy = plan.scenario == "healthy"
        lag = float(rng.choice([0.5, 1.0])) if healthy else 1.0
        coverage = rng.uniform(0.9, 1.0) if healthy else 0.85
        pick = (age >= lag) & (age < (14.0 if healthy else days + 1.0)) & (rng.random(n) < coverage)
        # Labels arrive in their own order (not the inference order).
        order = np.flatnonzero(pick)[rng.permutation(int(pick.sum()))]
        path = out / f"{plan.model_id}.labels.parquet"
        _write_parquet(path, {"request_id": rid.take(pa.array(order)), "label": outputs(None, yi[order])})
        files.append(("labels", str(path)))
    return {"model_id": plan.model_id, "spec": spec, "files": files, "inference_rows": int(n)}
