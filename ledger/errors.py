"""Domain errors. Each carries a one-line message that says what is wrong and how to fix it.

The CLI turns any :class:`LedgerError` into that line on stderr and ``exit_code``; nothing
else is printed, and nothing has been written when one is raised during an append.
"""

from __future__ import annotations

_ONE_LINE = {
    c: repr(chr(c))[1:-1]
    for c in (*range(0x20), 0x7F, 0x85, 0x1C, 0x1D, 0x1E, 0x2028, 0x2029)
}


class LedgerError(Exception):
    """Base class for every error the ledger reports to a user."""

    exit_code: int = 2

    def __init__(self, message: str) -> None:
        # One line, always: a field name or value quoted from user input may hold a line break
        # or a terminal control character; show it escaped instead.
        message = message.translate(_ONE_LINE)
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class LedgerNotFound(LedgerError):
    """No ledger database at the given path."""


class RunNotFound(LedgerError):
    """An id that names no run."""


class InvalidRun(LedgerError):
    """A run document or a run built in code does not satisfy the run format."""


class AppendOnlyViolation(LedgerError):
    """Something tried to change or remove a ledger row."""


class LedgerLocked(LedgerError):
    """Another process held the write lock for longer than the busy timeout."""

    exit_code = 3


class IntegrityFailure(LedgerError):
    """``verify`` found a row or record that does not match the hash chain."""

    exit_code = 1


class UsageError(LedgerError):
    """Bad arguments to a command (unknown score, empty group, bad expression...)."""


def os_error_message(exc: OSError) -> str:
    """One line for an operating-system error (a file that cannot be read or written, a full
    disk, a path too long): what failed, on which path, and what to do."""
    import errno

    reason = exc.strerror or str(exc) or type(exc).__name__
    if not exc.errno:  # raised by a writer with a message of its own
        return f"{reason}; free some space or check the target folder, then retry"
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    where = f" {' -> '.join(paths)}" if paths else ""
    hint = {
        errno.ENOSPC: "free some space and retry",
        errno.EDQUOT: "free some space and retry",
        errno.EACCES: "check the file's permissions",
        errno.EPERM: "check the file's permissions",
        errno.EROFS: "the file system is read-only; write elsewhere",
        errno.ENOENT: "check the path",
        errno.EISDIR: "give a file, not a folder",
    }.get(exc.errno, "check the path, its permissions and the free space")
    return f"cannot access{where}: {reason}; {hint}"
