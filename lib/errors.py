"""Exceptions that cross module boundaries, and what the command line does with them.

InputError  -> exit code 2, one line naming file, column and row where they apply.
StoreBusy   -> the readers–writer lock could not be had in time ("store busy" notice in the app).
StoreMissing-> there is no store file yet (the app shows the command that builds the demo).
AlreadyRunning -> a second scheduler on one store: exit 1 with the holder named.
MissingDependency -> a part the feature needs is not installed (Chromium for PDF): exit 1, one
                line with the install command; a notice in the app.
StoreError  -> the store file cannot be used: corrupt or truncated, written by a newer schema
               version, not readable / writable, or a write failed (disk full) (exit 1; app notice).
OutOfMemory -> a file did not fit in the memory the process may use: exit 1, one line naming it;
               the store unchanged (docs/limits.md).
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


class OutOfMemory(Exception):
    """A file did not fit in memory (RAM, or the address-space cap `ulimit -v` sets) while it
    was read, validated or written; its transaction was rolled back, so nothing was changed."""


class UnknownModel(InputError):
    """A model id that is not registered in the store."""

    @classmethod
    def suggest(cls, model_id: str, known, *, prefix: str = "--model: ", hint: str = "") -> "UnknownModel":
        """The one-line error for an unknown id: the closest registered ids (difflib) and how to
        list them all (issue 14). `hint` is added before the listing advice."""
        import difflib

        known = sorted(known)
        close = difflib.get_close_matches(model_id, known, n=3, cutoff=0.6)
        text = f"{prefix}unknown model {model_id!r}"
        if close:
            text += "; did you mean " + " or ".join(repr(c) for c in close) + "?"
        if hint:
            text += f" ({hint})"
        # with no model registered there is nothing to list (the hint says what to do instead)
        return cls(f"{text} — list the registered models with: python -m lib models" if known else text)


class AlreadyRunning(Exception):
    """A one-of-a-kind process (the scheduler) is already running on this store."""


class MissingDependency(Exception):
    """A runtime part is not installed (Chromium for PDF); the message says how to install it."""
