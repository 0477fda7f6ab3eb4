"""Actions: notices to owners (yellow), retrain triggers (red), acknowledge / snooze / mute,
each with an idempotency key and an audit log entry.

May import: lib.judge, lib.store, lib.errors. No Streamlit.
"""
