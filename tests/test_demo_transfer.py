"""lib.demo.transfer: a worker's result through a file (protocol-5 buffers on a mapping), equal to
what went in, writable, the file gone once received."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from lib.demo import transfer


def test_a_spilled_result_comes_back_equal_writable_and_its_file_is_removed(tmp_path):
    frame = pd.DataFrame(
        {
            "n": np.arange(1_000, dtype="int64"),
            "x": np.linspace(0.0, 1.0, 1_000),
            "ts": pd.date_range("2026-11-01", periods=1_000, freq="min").to_numpy(),
            "text": pd.Series([f"r-{i}" if i % 7 else None for i in range(1_000)], dtype="str"),
            "label": pd.Series([None] * 1_000, dtype=object),
        }
    )
    original = {"frame": frame, "odd": np.arange(3, dtype="int8"), "empty": np.zeros(0), "spec": {"a": [1, 2]}}
    spilled = transfer.spill(original, str(tmp_path), "m.pickle")
    assert sum(spilled.sizes) > 2 * len(spilled.data)  # the columns travel in the file
    assert os.path.getsize(spilled.path) % 64 == 0  # each buffer aligned
    back = transfer.unspill(spilled)
    assert not os.path.exists(spilled.path)
    pd.testing.assert_frame_equal(back["frame"], frame, check_exact=True)
    assert back["odd"].tolist() == [0, 1, 2] and back["empty"].size == 0 and back["spec"] == {"a": [1, 2]}
    back["frame"]["file_id"] = 7  # what the writer does to a prepared frame
    back["odd"][0] = 9  # a private mapping: writable, the file untouched
    assert back["frame"]["file_id"].iat[0] == 7 and back["odd"][0] == 9


def test_nothing_to_spill_still_round_trips(tmp_path):
    spilled = transfer.spill({"k": "v"}, str(tmp_path), "small.pickle")
    assert spilled.sizes == () and transfer.unspill(spilled) == {"k": "v"}
    assert not os.path.exists(spilled.path)


def test_spill_dir_is_fresh_and_in_memory_only_with_room(tmp_path, monkeypatch):
    roomy = tmp_path / "shm"
    roomy.mkdir()
    d = transfer.spill_dir(str(tmp_path), shm=str(roomy))
    assert os.path.dirname(d) == str(roomy) and os.listdir(d) == []
    monkeypatch.setattr(transfer, "SHM_NEEDED", 1 << 62)  # a container's 64 MB /dev/shm, say
    small = transfer.spill_dir(str(tmp_path), shm=str(roomy))
    assert os.path.dirname(small) == str(tmp_path)
    assert os.path.dirname(transfer.spill_dir(str(tmp_path), shm=str(tmp_path / "none"))) == str(tmp_path)
