"""The command line's commands (`python -m lib ...`; lib/__main__.py is the entry point).
Each command parses its arguments, calls lib/ and prints; exit codes 0 / 1 / 2 as the README says.

May import: everything below it. No Streamlit.
"""
