"""Opening a ledger file: pragmas for concurrent use, and migrations applied when pending."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import LedgerError, LedgerLocked, LedgerNotFound
from .migrations import MIGRATION_NAMES, MIGRATION_SET
from .witness import Guard, check
from .witness import load as load_witness

DEFAULT_BUSY_TIMEOUT_S = 10.0


MAX_BUSY_TIMEOUT_S = 86_400.0  # SQLite takes milliseconds as a C int: a day is plenty


def busy_timeout_s() -> float:
    raw = os.environ.get("LEDGER_BUSY_TIMEOUT")
    if raw is None:
        return DEFAULT_BUSY_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        raise LedgerError(
            f"LEDGER_BUSY_TIMEOUT={raw!r} is not a number of seconds; set it to e.g. 10"
        ) from None
    if not 0 <= value <= MAX_BUSY_TIMEOUT_S:  # also refuses nan and inf
        raise LedgerError(
            f"LEDGER_BUSY_TIMEOUT={raw!r} must be a number of seconds from 0 to {MAX_BUSY_TIMEOUT_S:g}; "
            "set it to e.g. 10"
        )
    return value


def locked_error(path: Path | str, timeout_s: float) -> LedgerLocked:
    return LedgerLocked(
        f"{path} is locked by another writer for longer than the busy timeout ({timeout_s:g} s); "
        "nothing was written: retry, or raise LEDGER_BUSY_TIMEOUT"
    )


def is_lock_error(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def check_path(path: Path) -> None:
    """Refuse what SQLite would open as a ledger stored nowhere."""
    text = str(path)
    if text in ("", ":memory:") or text.startswith("file:"):
        raise LedgerError(
            f"--db {text!r} is not a file: a ledger in memory keeps nothing; give a file path such as ledger.db"
        )


def connect(
    path: Path | str,
    *,
    create: bool = False,
    timeout_s: float | None = None,
    guard: Guard | None = None,
    readonly: bool = False,
    check_witness: bool = True,
) -> sqlite3.Connection:
    """Open the ledger at ``path`` (creating it only when ``create``), with WAL, a busy timeout,
    foreign keys, no automatic checkpoints, and any pending migrations applied (under the
    ``guard``'s lock, so that concurrent first opens of a new file take turns)."""
    path = Path(path)
    check_path(path)
    timeout = busy_timeout_s() if timeout_s is None else timeout_s
    witness = load_witness(path)
    exists = path.exists()
    if not exists:
        if not create:
            raise LedgerNotFound(
                f"no ledger at {path}; create one with `ledger init --db {path}` "
                "(or point --db / LEDGER_DB at an existing ledger)"
            )
        if not path.parent.is_dir():
            raise LedgerError(f"cannot create {path}: folder {path.parent} does not exist")
    if witness is not None and witness.head.runs[0] + witness.head.evalsets[0] > 0 and (
        not exists or path.stat().st_size == 0
    ):
        raise LedgerError(
            f"{path} {'is missing' if not exists else 'is an empty file'}, but a ledger with "
            f"{witness.head.runs[0]} run(s) was here ({path.name}-head records its head); restore the file, "
            f"or move {path.name}-head aside to start a new ledger"
        )
    if exists and not create and path.is_file() and path.stat().st_size == 0:
        raise LedgerError(f"{path} is an empty file (0 bytes), not a ledger; create one with "
                          f"`ledger init --db {path}` after removing it, or restore the ledger that was there")
    if exists and not readonly:
        readonly = not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))
    conn = _open(path, timeout, readonly)
    try:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if _pending(conn) or mode != "wal":
            if readonly:
                raise LedgerError(f"{path} needs upgrading to this version of ledger, but it is read-only; "
                                  "open it once where it is writable")
            with guard.exclusive(timeout) if guard is not None else _nothing():
                if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                _migrate(conn, path, create)
        if check_witness:
            check(conn, path, witness)
    except sqlite3.DatabaseError as exc:
        conn.close()
        if isinstance(exc, sqlite3.OperationalError) and is_lock_error(exc):
            raise locked_error(path, timeout) from None
        raise LedgerError(f"{path} is not a usable ledger database: {exc}") from None
    except BaseException:
        conn.close()
        raise
    return conn


def _open(path: Path, timeout: float, readonly: bool) -> sqlite3.Connection:
    try:
        if readonly:
            from urllib.parse import quote

            conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=timeout,
                                   isolation_level=None, check_same_thread=False)
        else:
            conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise LedgerError(f"cannot open {path}: {exc}") from None
    # A file edited outside the ledger may hold text that is not UTF-8: read it anyway, so that
    # verify can report the run instead of crashing.
    conn.text_factory = lambda data: data.decode("utf-8", errors="surrogateescape")
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = FULL")
        # Checkpoints happen only under the write lock (see ledger.witness: the WAL-reset bug).
        conn.execute("PRAGMA wal_autocheckpoint = 0")
    except sqlite3.DatabaseError as exc:
        conn.close()
        if isinstance(exc, sqlite3.OperationalError) and is_lock_error(exc):
            raise locked_error(path, timeout) from None
        raise LedgerError(f"{path} is not a usable ledger database: {exc}") from None
    return conn


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _pending(conn: sqlite3.Connection) -> bool:
    applied = applied_migrations(conn)
    return not all(name in applied for name in MIGRATION_NAMES)


def applied_migrations(conn: sqlite3.Connection) -> set[str]:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlite_migrations'"
    ).fetchone()
    if not exists:
        return set()
    rows = conn.execute(
        "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", (MIGRATION_SET,)
    ).fetchall()
    return {row[0] for row in rows}


def _migrate(conn: sqlite3.Connection, path: Path, create: bool) -> None:
    applied = applied_migrations(conn)
    if all(name in applied for name in MIGRATION_NAMES):
        return
    if not applied and not create:
        tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        if tables:
            raise LedgerError(
                f"{path} is a SQLite database but not a ledger; point --db at a ledger file"
            )
    from .migrations import migrations, sqlite_utils_module

    sqlite_utils = sqlite_utils_module()

    # m002 rebuilds tables (create, copy, drop, rename): foreign keys must be off while it runs,
    # and the pragma only takes effect outside a transaction.
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        migrations().apply(sqlite_utils.Database(conn))
        broken = conn.execute("PRAGMA foreign_key_check").fetchone()
        if broken is not None:
            raise LedgerError(f"{path}: migration left a dangling reference in table {broken[0]}")
    except sqlite3.DatabaseError:
        # Another process may have applied the same migrations at the same moment: that is
        # fine when nothing is pending any more; anything else is re-raised.
        if not all(name in applied_migrations(conn) for name in MIGRATION_NAMES):
            raise
    finally:
        conn.execute("PRAGMA foreign_keys = ON")
