"""Ingest: files enter here. Reads CSV/Parquet, validates them against the model's spec at the
boundary (one-line reasons naming file, column and row), and hands clean rows to the store.

May import: lib.judge (policy rules for specs), lib.store, lib.metrics, lib.spec, lib.errors.
"""
