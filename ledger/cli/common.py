"""What every command shares: the database option, error handling, and output helpers.

A domain error becomes one line on stderr and a non-zero exit code, never a traceback; data goes to
stdout so that it can be piped.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from ..errors import LedgerError

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_DB = "ledger.db"

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="Ledger database file (default: $LEDGER_DB, else ./ledger.db).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


def db_path(db: Path | None) -> Path:
    if db is not None:
        return db
    env = os.environ.get("LEDGER_DB")
    return Path(env) if env else Path(DEFAULT_DB)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one error line to stderr and return the Exit to raise."""
    print(f"ledger: error: {message}", file=sys.stderr)
    return typer.Exit(code)


def handle_errors(func: F) -> F:
    """Turn domain and database errors into one stderr line and an exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LedgerError as exc:
            raise fail(str(exc), exc.exit_code) from None
        except sqlite3.DatabaseError as exc:
            raise fail(f"database error: {exc}; run `ledger verify` to check the file", 2) from None
        except BrokenPipeError:
            # The reader of our stdout went away (e.g. `ledger ls | head`): not an error.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(0) from None
        except OSError as exc:
            raise fail(os_error_text(exc), 2) from None
        except KeyboardInterrupt:
            raise fail("interrupted", 130) from None

    return wrapper  # type: ignore[return-value]


def os_error_text(exc: OSError) -> str:
    """One line for a failed file operation: what failed, on which file, and what to do."""
    import errno

    where = f" {exc.filename}" if exc.filename else ""
    reason = exc.strerror or str(exc)
    if not exc.errno:  # raised by a writer with a message of its own
        return f"{reason}; free some space or check the target folder, then retry"
    hint = {
        errno.ENOSPC: "free some space and retry",
        errno.EDQUOT: "free some space and retry",
        errno.EACCES: "check the file's permissions",
        errno.EPERM: "check the file's permissions",
        errno.EROFS: "the file system is read-only; write elsewhere",
        errno.ENOENT: "check the path",
        errno.EISDIR: "give a file, not a folder",
    }.get(exc.errno or 0, "check the file and retry")
    return f"cannot access{where}: {reason}; {hint}"


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str, allow_nan=False))
    sys.stdout.write("\n")
