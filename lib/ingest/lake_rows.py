"""A lake model's inference rows, read back from its lake files for a re-profile (issue 11).

A new reference snapshot re-profiles a model against its new bins, and a labels file re-profiles
its performance (DESIGN.md, "Profile, then judge"). A stored model's rows are in the store; a
lake model's rows stay in its lake files, so the store asks for them through `read_lake_rows`,
which reads and validates each file exactly as `sync` did (the same readers and rules), so a
re-profile equals the first profile. A file whose content changed since it was synced is an
error naming it: it is never silently re-read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lib.errors import InputError
from lib.ingest import readers
from lib.spec import Spec
from lib.store import profiles


def read_lake_rows(con, spec: Spec, files: list[tuple[int, str, str]], slots: dict[str, tuple[int, str]]):
    """Rows of the lake files [(file_id, path, content hash)]: file_id, ts, hour, rid, prediction,
    pred_num, score, label (as logged) and f<slot> for each feature in `slots` (feature -> (slot, kind))."""
    from lib.ingest.pipeline import validate_inference

    frames = []
    for file_id, location, digest in files:
        path = Path(location)
        if not path.is_file():
            raise InputError(f"{location}: file not found (synced from the lake; it must stay there)")
        if readers.content_hash(path) != digest:
            raise InputError(
                f"{location}: changed since it was synced (content hash differs); a lake file is never re-read"
            )
        raw = readers.read_table(path)
        rows, _ = validate_inference(raw, spec, location)
        data = {c: rows.columns[c] for c in ("ts", "rid", "prediction", "pred_num", "score", "label")}
        for feature, (slot, kind) in slots.items():
            if feature in rows.features:
                data[f"f{slot}"] = rows.features[feature]
            elif feature in raw.columns:  # a feature since removed from the spec: still profiled
                data[f"f{slot}"] = (
                    readers.parse_numeric(raw[feature], location, feature)
                    if kind == "numeric"
                    else readers.parse_text(raw[feature]).to_numpy(dtype=object)
                )
            else:
                data[f"f{slot}"] = np.full(rows.n, np.nan) if kind == "numeric" else np.full(rows.n, None, dtype=object)
        frame = pd.DataFrame(data)
        frame.insert(0, "file_id", file_id)
        frame["hour"] = profiles.hour_of(frame["ts"])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
