"""The demo fleet: domains as data and a generator that writes their files through the same
register / ingest path as users' files.

May import: lib.ingest, lib.store, lib.spec, lib.errors. No Streamlit.
"""
