"""The page scripts of the Streamlit app (run by st.navigation in app.py; a package only so that
import-linter can hold them to their contract: no duckdb, no store writes)."""
