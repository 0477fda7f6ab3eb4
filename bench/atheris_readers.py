"""Coverage-guided fuzzing of the file readers with atheris (issue 12), after hypothesis.

Each input is written as a .csv (or, if it starts with Parquet's magic, a .parquet) file and read
with lib.ingest.readers.read_table, then every column parsed as numeric, text and timestamps:
anything but a DataFrame or an InputError with a one-line message is a crash.

    .venv/bin/python bench/atheris_readers.py -max_total_time=120 [corpus_dir]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import atheris
import numpy  # noqa: F401  (imported before instrumenting: only Driftlight's readers are instrumented)
import pandas  # noqa: F401
import pyarrow.csv  # noqa: F401
import pyarrow.parquet  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib.errors import InputError  # noqa: E402

with atheris.instrument_imports(include=["lib"]):
    from lib.ingest import readers

_DIR = Path(tempfile.mkdtemp(prefix="driftlight-atheris-"))


def one_input(data: bytes) -> None:
    path = _DIR / ("in.parquet" if data.startswith(b"PAR1") else "in.csv")
    path.write_bytes(data)
    try:
        frame = readers.read_table(path)
        for column in frame.columns:
            for parse in (readers.parse_numeric, readers.parse_timestamps):
                try:
                    parse(frame[column], path.name, str(column))
                except InputError as exc:
                    assert "\n" not in str(exc), str(exc)
            readers.parse_text(frame[column])
    except InputError as exc:
        assert "\n" not in str(exc), str(exc)


def main() -> None:
    seeds = [a for a in sys.argv[1:] if not a.startswith("-")]
    if not seeds:  # a seed corpus of small valid files
        corpus = _DIR / "corpus"
        corpus.mkdir()
        (corpus / "a").write_bytes(b"ts,flavor,temperature\n2026-11-26T01:00:00,vanilla,1.5\n,\xc3\xa9,nan\n")
        (corpus / "b").write_bytes(b"\xef\xbb\xbfa,b\n1,2\n")
        sys.argv.append(str(corpus))
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
