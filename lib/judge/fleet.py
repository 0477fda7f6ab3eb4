"""The models under judgement (`Fleet`): read once per evaluation (`load_fleet`), or narrowed to a
few models and features (`restrict`) for the history behind their reasons."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from lib.errors import UnknownModel
from lib.store.read import Reader


@dataclass
class Fleet:
    """What judging needs to know about the models (read once per evaluation)."""

    models: pd.DataFrame  # model_id, name, task, owner, team, tags, spec (dict)
    features: pd.DataFrame  # model_id, slot, feature, kind, position
    snapshots: pd.DataFrame  # active snapshot per model
    ref: pd.DataFrame  # reference profiles of the active snapshots
    labelled: set[str]


def load_fleet(reader: Reader, model_ids: list[str] | None) -> Fleet:
    models = reader.models()
    if model_ids:
        unknown = [m for m in model_ids if m not in set(models["model_id"])]
        if unknown:
            raise UnknownModel.suggest(unknown[0], models["model_id"])
        models = models[models["model_id"].isin(model_ids)]
    models = models.assign(spec=models["spec_json"].map(json.loads)).reset_index(drop=True)
    keep = set(models["model_id"])
    features = reader.features()
    snapshots = reader.snapshots()
    ref = reader.ref_profiles()
    return Fleet(
        models=models,
        features=features[features["model_id"].isin(keep)].reset_index(drop=True),
        snapshots=snapshots[snapshots["model_id"].isin(keep)].reset_index(drop=True),
        ref=ref[ref["model_id"].isin(keep)].reset_index(drop=True),
        labelled={m for m in reader.labelled_models() if m in keep},
    )


def restrict(fleet: Fleet, model_ids: list[str], features: set[tuple[str, str]] | None = None) -> Fleet:
    """The part of a fleet made of the given models (and, if given, of only these (model, feature)
    pairs: the history behind a few reasons needs no other feature; the model's prediction and
    score profiles stay)."""
    keep = set(model_ids)
    pick = lambda frame: frame[frame["model_id"].isin(keep)].reset_index(drop=True)  # noqa: E731
    feats, ref = pick(fleet.features), pick(fleet.ref)
    if features is not None:
        feats = feats[[pair in features for pair in zip(feats["model_id"], feats["feature"])]].reset_index(drop=True)
        slots = set(zip(feats["model_id"], feats["slot"]))
        ref = ref[[s < 0 or (m, s) in slots for m, s in zip(ref["model_id"], ref["slot"])]].reset_index(drop=True)
    return Fleet(
        models=pick(fleet.models),
        features=feats,
        snapshots=pick(fleet.snapshots),
        ref=ref,
        labelled=fleet.labelled & keep,
    )


def split(fleet: Fleet, parts: list[list[str]]):
    """restrict(fleet, part) for each part in turn (parts: disjoint lists of model ids), with each
    frame's rows assigned to their part once, not looked up again for every part."""
    which = {m: k for k, part in enumerate(parts) for m in part}
    frames = ("models", "features", "snapshots", "ref")
    codes = {name: getattr(fleet, name)["model_id"].map(which).fillna(-1).to_numpy(dtype="int64") for name in frames}
    for k, part in enumerate(parts):
        picked = {name: getattr(fleet, name)[codes[name] == k].reset_index(drop=True) for name in frames}
        yield Fleet(**picked, labelled=fleet.labelled & set(part))
