"""Why the daemon cannot start: one exception, `StartupError`, with the kind of failure and
one sentence for the operator (what is wrong, which file, what to do).

The daemon turns the kind into its exit code (daemon/main.py documents them) and prints
the sentence; so the sentence must stand alone, never carry a secret (no password byte,
no mnemonic), and never need a traceback to be understood.
"""

from __future__ import annotations

from enum import StrEnum


class Failure(StrEnum):
    CONFIG = "config"  # a setting, a flag or the configuration file
    IDENTITY = "identity"  # the password, the key store, a missing identity
    DATA_DIR_IN_USE = "data_dir_in_use"  # another daemon runs on the data directory
    CANNOT_LISTEN = "cannot_listen"  # the port is taken, or not ours to take
    STORE_DAMAGED = "store_damaged"  # the pod store cannot be opened as it is
    DATA_DIR_UNUSABLE = "data_dir_unusable"  # cannot create or write the files it needs


class StartupError(Exception):
    """The daemon cannot start; `str()` is the sentence for the operator."""

    def __init__(self, kind: Failure, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def unusable(what: str, path: object, exc: OSError) -> StartupError:
    """A file or directory of the data directory that cannot be used."""
    reason = exc.strerror or str(exc)
    return StartupError(Failure.DATA_DIR_UNUSABLE,
                        f"Cannot use {what} {path}: {reason}; check that the data directory "
                        f"is writable by this user and its disk has space, or choose "
                        f"another with --data-dir")


def store_failure(exc: Exception, store: object) -> StartupError | None:
    """What an error opening the pod store means for the operator; None if it is not one
    the store raises (a bug, to be reported as such)."""
    text = str(exc)
    if isinstance(exc, OSError) and "lock" in text.lower():
        return StartupError(Failure.DATA_DIR_IN_USE,
                            f"The store {store} is in use by another process ({text}): stop "
                            f"the other daemon, or give this one its own --data-dir")
    if isinstance(exc, RuntimeError) or "Corruption" in text:
        return StartupError(Failure.STORE_DAMAGED,
                            f"The pod store {store} is damaged ({text}): restore it from a "
                            f"backup; or move it aside to start with an empty store, where "
                            f"a refresh brings back what was uploaded (edits not uploaded "
                            f"are lost)")
    if isinstance(exc, OSError):
        return unusable("the store", store, exc)
    return None
