"""Reports: one model or a fleet as HTML, PDF, CSV and JSON; CSV cells made formula-safe.

May import: lib.judge, lib.store (reads), lib.metrics, lib.errors. No Streamlit.
"""
