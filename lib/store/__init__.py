"""The store: the only SQL in Driftlight. The DuckDB file, its readers-writer lock, the schema
and its migrations, writes (rows + per-hour profiles), reads for judging, one model's drill-down
reads (a lake model's raw rows read in place from its lake files: lake_read.py), the lake's file
registry (lake.py), and the action tables. It knows nothing of statuses or thresholds.

May import: lib.metrics, lib.spec, lib.errors (and duckdb, which nothing else may import).
"""
