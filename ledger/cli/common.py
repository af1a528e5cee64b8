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

from ..errors import LedgerError, os_error_message

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
    """Turn domain, database and operating-system errors into one stderr line and an exit code."""

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
        except OSError as exc:  # after BrokenPipeError, which is one
            raise fail(os_error_message(exc), 2) from None
        except KeyboardInterrupt:
            raise fail("interrupted", 130) from None

    return wrapper  # type: ignore[return-value]


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str, allow_nan=False))
    sys.stdout.write("\n")
