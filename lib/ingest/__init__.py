"""Ingest: files enter here. Reads CSV/Parquet, validates them against the model's spec at the
boundary (one-line reasons naming file, column and row), and hands clean rows to the store.
`sync` (lake.py) profiles a lake in place, locally or on Spark (spark_*.py: the only pyspark code).

May import: lib.judge (policy rules for specs), lib.store, lib.metrics, lib.spec, lib.errors; pyspark
(spark_*.py only, imported inside functions: nothing else needs Java).
"""
