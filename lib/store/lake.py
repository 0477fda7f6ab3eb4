"""The lake's bookkeeping in the store (issue 11): which models live in which lake, which lake files
were synced (path relative to the lake + content hash), and what a sync needs to know to change
nothing when nothing changed. The raw-row reads of lake files are in lib/store/lake_read.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb


@dataclass(frozen=True)
class LakeState:
    """What the store knows of one lake model: its spec as stored, its lake, its synced files."""

    spec_json: str | None = None
    lake: str | None = None
    files: dict[str, str] = field(default_factory=dict)  # path in the lake -> content hash
    hashes: frozenset[tuple[str, str]] = frozenset()  # (kind, content hash) of every file ingested


def has_lake_tables(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the store has migration 3's tables: a read connection does not migrate, so a store
    written before it is read as it is (it has no lake models)."""
    return bool(
        con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'lake_files'").fetchall()[0][0]
    )


def lake_state(con: duckdb.DuckDBPyConnection, model_id: str) -> LakeState:
    if not has_lake_tables(con):
        spec = con.execute("SELECT spec_json FROM models WHERE model_id = ?", [model_id]).fetchall()
        return LakeState(spec_json=spec[0][0] if spec else None)
    spec = con.execute("SELECT spec_json FROM models WHERE model_id = ?", [model_id]).fetchall()
    lake = con.execute("SELECT lake FROM lake_models WHERE model_id = ?", [model_id]).fetchall()
    files = con.execute("SELECT path, content_hash FROM lake_files WHERE model_id = ?", [model_id]).fetchall()
    hashes = con.execute(
        "SELECT DISTINCT kind, content_hash FROM ingest_log WHERE model_id = ? AND outcome = 'ingested'", [model_id]
    ).fetchall()
    return LakeState(
        spec_json=spec[0][0] if spec else None,
        lake=lake[0][0] if lake else None,
        files=dict(files),
        hashes=frozenset(hashes),
    )


def record_lake_model(con: duckdb.DuckDBPyConnection, model_id: str, lake: str) -> None:
    """Mark a model as living in `lake` (its inference rows are read there)."""
    con.execute("INSERT OR REPLACE INTO lake_models VALUES (?, ?)", [model_id, lake])


def lake_of(con: duckdb.DuckDBPyConnection, model_id: str) -> str | None:
    row = con.execute("SELECT lake FROM lake_models WHERE model_id = ?", [model_id]).fetchall()
    return row[0][0] if row else None
