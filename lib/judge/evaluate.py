"""`evaluate`: the fleet's statuses, reasons and metric values in the JSON shape of DESIGN.md.

Reads the store once (one shared-lock read), judges every model at every instant needed
(lib/judge/checks.py), and assembles the contract (lib/judge/assemble.py): models ordered red,
yellow, grey, green, then id; reasons ordered as DESIGN.md's precise rules say; `since` and
`onset` per reason.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lib.errors import InputError
from lib.judge import fdr, parallel
from lib.judge.assemble import Assembler
from lib.judge.checks import Judge
from lib.judge.fleet import Fleet, load_fleet, restrict, split
from lib.judge.policy import Policy, load_policy, with_store_overrides
from lib.judge.seg_reasons import attach_segments
from lib.judge.status import RANK, RED, YELLOW
from lib.judge.windows import hourly_instants, instants_for, iso
from lib.store.connection import Store
from lib.store.policy import read_overrides
from lib.store.profiles import round_up_hour
from lib.store.read import Reader
from lib.store.rows import raw_drift_by_slot


def parse_as_of(text: str | None) -> pd.Timestamp | None:
    """ISO8601 (date-only means 00:00 UTC; no offset means UTC), rounded up to the whole hour."""
    if text is None:
        return None
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError):
        raise InputError(f"--as-of: {text!r} is not an ISO8601 date or time") from None
    if pd.isna(ts):
        raise InputError(f"--as-of: {text!r} is not an ISO8601 date or time")
    return round_up_hour(ts)


CHUNK_MODELS = 1000
"""Models judged at once. Judging is per model (the fleet-wide FDR family aside, decided first), so
chunks give the same JSON as one pass; they bound memory by the chunk, not the fleet (a 30-day
timeline of 10,000 models held ~12 GB of check rows at once), and keep the frames cache-sized."""


def chunks(ids: list[str], size: int | None) -> list[list[str]]:
    """The model ids in consecutive runs of `size` (every id once, in order)."""
    size = CHUNK_MODELS if size is None else max(1, int(size))
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def evaluate(
    store: Store,
    *,
    as_of: pd.Timestamp | None = None,
    model_ids: list[str] | None = None,
    timeline_days: int | None = None,
    detail: bool | None = None,
    policy: Policy | None = None,
    chunk_models: int | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Judge the fleet (or the given models) as of a time. Returns the `evaluate` JSON as a dict.

    `chunk_models`: how many models are judged at once (default CHUNK_MODELS); the result does
    not depend on it. `workers`: how many processes judge the chunks (lib/judge/parallel.py; 1:
    this one only); the result does not depend on it either."""
    policy = policy or load_policy()
    if timeline_days is not None and not 1 <= timeline_days <= 365:
        raise InputError(f"--timeline: {timeline_days} is not between 1 and 365 days")
    with store.read() as con:
        policy = with_store_overrides(policy, read_overrides(con))  # the Policy page's changes, at once
        reader = Reader(con, model_ids)
        newest = reader.newest_inference()
        fleet = load_fleet(reader, model_ids)
        if as_of is None:
            # No model has logged yet: judge as of the newest register / reference ingest, so that
            # registered models are listed (grey, "no inference logged yet"), not hidden (issue 14).
            newest = newest if newest is not None else reader.newest_setup()
            if newest is None:
                return {"as_of": None, "models": []}
            as_of = round_up_hour(newest)
        if fleet.models.empty:
            return {"as_of": iso(as_of), "models": []}
        # The FDR family spans the whole fleet: decided before any chunk is judged.
        decided = _fdr_family(con, fleet if not model_ids else None, policy, as_of, chunk_models)
        detail = bool(model_ids) if detail is None else detail
        parts = chunks(fleet.models["model_id"].tolist(), chunk_models)
        job = (policy, as_of, timeline_days, detail, decided)
        if parallel.worth_it(parts, workers):
            out_models = parallel.judge_parts(store, con, fleet, parts, job, workers)
        else:
            out_models = judge_parts(con, reader, fleet, parts, job)
        attach_segments(con, fleet.models, out_models, as_of, detail)  # issue 13: flagged models only
    out_models.sort(key=lambda d: (RANK[d["status"]], d["model_id"]))
    out: dict[str, Any] = {"as_of": iso(as_of), "models": out_models}
    if decided is not None:
        fdr.annotate(out_models, decided)
        out["fdr"] = fdr.summary(decided, fdr.settings(policy)["alpha"], set(fleet.models["model_id"]))
    return out


def judge_parts(con, reader: Reader | None, fleet: Fleet, parts: list[list[str]], job: tuple) -> list[dict]:
    """The `evaluate` JSON of every model of `fleet`, judged chunk by chunk (`parts`: the model ids
    in chunks); `job` = (policy, as_of, timeline_days, detail, decided FDR family or None). One
    chunk is read through `reader` (None: a reader of its models)."""
    policy, as_of, timeline_days, detail, decided = job
    out_models: list[dict] = []
    for part, sub in zip(parts, [fleet] if len(parts) == 1 else split(fleet, parts)):
        sub_reader = reader if len(parts) == 1 and reader is not None else Reader(con, part)
        judge, checks, timeline = judge_fleet(con, sub_reader, sub, policy, as_of, timeline_days, part)
        if decided is not None:
            checks = fdr.apply(checks, decided, judge.wid[as_of])
        raw = raw_drift(con, sub, as_of) if detail else {}
        assembler = Assembler(judge, checks, as_of, sub_reader)
        out_models += [assembler.model(m, raw.get(m, {}), timeline) for m in part]
        del judge, checks, assembler
    return out_models


def _fdr_family(con, fleet: Fleet | None, policy: Policy, as_of, chunk_models: int | None) -> pd.DataFrame | None:
    """The fleet's family of drift p-values at as_of, decided (lib/judge/fdr.py); None when the
    policy does not ask for it. Always the whole fleet (`fleet`, or read here for a subset of
    models), so that a model's view equals the grid's; judged at as_of only, drift only, in chunks
    of models (each (model, feature) is its own member: the family is the chunks' concatenation)."""
    if not fdr.settings(policy)["enabled"]:
        return None
    reader = Reader(con, None)
    fleet = fleet if fleet is not None else load_fleet(reader, None)
    ids = fleet.models["model_id"].tolist()
    family = []
    parts = chunks(ids, chunk_models)
    for part, sub in zip(parts, [fleet] if len(parts) == 1 else split(fleet, parts)):
        sub_reader = reader if len(parts) == 1 else Reader(con, part)
        judge = Judge(sub_reader, sub, policy, [as_of], wids=[0])
        family.append(fdr.family(judge, judge.run({"feature_drift"}, detail_at=as_of), 0))
    family = [f for f in family if len(f)] or family[:1]  # an empty part must not decide the dtypes
    return fdr.decide(pd.concat(family, ignore_index=True), fdr.settings(policy)["alpha"])


def judge_fleet(
    con,
    reader: Reader,
    fleet: Fleet,
    policy: Policy,
    as_of: pd.Timestamp,
    timeline_days: int | None,
    model_ids: list[str] | None,
):
    """Judge every model at as_of, and the history that `since`, `onset` and the timeline need.

    With a timeline, every model is judged at every day-end at once. Without, in two phases:
    all models at as_of, then the ~40 earlier instants only for the models and checks that
    have a reason (most of a fleet is green and needs no history) — the same values, a
    fraction of the work. Either way the 48 hourly instants behind `since` are judged only for
    the reasons' models, checks and features (issue 14: hour resolution at a small cost).
    """
    base, timeline = instants_for(as_of, timeline_days)
    hourly = [t for t in hourly_instants(as_of) if t not in set(base)]
    instants = sorted(base + hourly)
    gw = {t: i for i, t in enumerate(instants)}
    if timeline_days:
        judge = Judge(reader, fleet, policy, base, wids=[gw[t] for t in base])
        checks = judge.run(detail_at=as_of)
        history = hourly
    else:
        judge = Judge(reader, fleet, policy, [as_of], wids=[gw[as_of]])
        checks = judge.run(detail_at=as_of)
        history = [t for t in instants if t != as_of]
    now = checks[checks["wid"] == gw[as_of]]
    flagged = now[now["status"].isin([YELLOW, RED])]
    if len(flagged) and history:
        ids = sorted(flagged["model_id"].unique())
        features = {(m, f) for m, f in zip(flagged["model_id"], flagged["feature"]) if isinstance(f, str)}
        past = Judge(Reader(con, ids), restrict(fleet, ids, features), policy, history, wids=[gw[t] for t in history])
        checks = pd.concat([checks, past.run(set(flagged["check"]))], ignore_index=True)
        judge.rows = pd.concat([judge.rows, past.rows], ignore_index=True)
    judge.instants, judge.wid = instants, gw
    return judge, checks, timeline


def raw_drift(con, fleet: Fleet, as_of: pd.Timestamp) -> dict[str, dict[int, dict[str, float]]]:
    """Exact KS and normed Wasserstein on raw rows, for one model's detail (numeric features)."""
    out: dict[str, dict[int, dict[str, float]]] = {}
    snaps = fleet.snapshots.set_index("model_id")
    for m in fleet.models["model_id"]:
        if m not in snaps.index:
            continue
        slots = fleet.features[(fleet.features["model_id"] == m) & (fleet.features["kind"] == "numeric")]["slot"]
        if slots.empty:
            continue
        out[m] = raw_drift_by_slot(con, m, int(snaps.loc[m, "snapshot_id"]), list(slots), as_of)
    return out
