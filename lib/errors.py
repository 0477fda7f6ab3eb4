"""Exceptions that cross module boundaries, and what the command line does with them.

InputError  -> exit code 2, one line naming file, column and row where they apply.
StoreBusy   -> the readers–writer lock could not be had in time ("store busy" notice in the app).
StoreMissing-> there is no store file yet (the app shows the command that builds the demo).
StoreError  -> the store file cannot be used: corrupt or truncated, written by a newer schema
               version, not readable / writable, or a write failed (disk full) (exit 1; app notice).
"""


class InputError(Exception):
    """Bad input at the boundary (spec, file, command-line value). Nothing was changed."""


class StoreBusy(Exception):
    """The store stayed locked by another process for longer than the timeout."""


class StoreMissing(Exception):
    """The DuckDB store file does not exist yet."""


class StoreError(Exception):
    """The store file is corrupt, truncated, of a newer schema version, lacks permissions, or a
    write to it failed (no space); a failed write changed nothing."""


class UnknownModel(InputError):
    """A model id that is not registered in the store."""
