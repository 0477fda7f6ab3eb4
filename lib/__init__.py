"""Driftlight's logic, one package per stage of the data flow:

    files -> ingest -> store (rows + profiles) -> judge (metrics, policy, checks) -> faces
                                                   faces: reports, actions, ui, cli, demo

lib/spec.py (the model spec) and lib/errors.py (the exceptions) are shared by every stage.
The import rules are contracts in pyproject.toml, checked by `make lint`.
"""
