"""Judging: profiles -> metric values -> check statuses -> model status, reasons, onset.
Policy (thresholds as data and where each is resolved), the windowed cube, the checks, evaluate().

May import: lib.store (reads only: no writes, no lock), lib.metrics, lib.errors. No SQL, no Streamlit.
"""
