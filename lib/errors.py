"""Exceptions that cross module boundaries, and what the command line does with them.

InputError  -> exit code 2, one line naming file, column and row where they apply.
StoreBusy   -> the readers–writer lock could not be had in time ("store busy" notice in the app).
StoreMissing-> there is no store file yet (the app shows the command that builds the demo).
AlreadyRunning -> a second scheduler on one store: exit 1 with the holder named.
"""


class InputError(Exception):
    """Bad input at the boundary (spec, file, command-line value). Nothing was changed."""


class StoreBusy(Exception):
    """The store stayed locked by another process for longer than the timeout."""


class StoreMissing(Exception):
    """The DuckDB store file does not exist yet."""


class UnknownModel(InputError):
    """A model id that is not registered in the store."""


class AlreadyRunning(Exception):
    """A one-of-a-kind process (the scheduler) is already running on this store."""
