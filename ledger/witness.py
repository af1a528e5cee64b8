"""What the ledger keeps outside its database file: the chain heads it last wrote (the witness) and
the advisory lock that serialises every write and checkpoint.

The witness is ``<db>-head`` beside the database: one fixed-size line naming the last run and the
last evaluation set a ledger process committed, with their hashes, and a checksum of the line. It
is written after each commit, while the writer still holds the lock, so it is the exact head of
every append made through ``ledger``. Every open reads it first and then the database: a database
whose head is older than its witness (a file truncated, a ``-wal`` lost, an older copy restored)
is refused, instead of being read as a shorter, valid ledger.

The same file is the target of an ``flock``: appends, migrations and checkpoints take it
exclusively, and no connection checkpoints automatically. SQLite 3.7.0 to 3.51.2 (Python 3.11
bundles 3.40.1) can corrupt a WAL database when one connection checkpoints while another writes
or checkpoints (the "WAL-reset bug", fixed in 3.51.3); no drop-in ``sqlite3`` wheel bundling a
fixed SQLite exists for Python 3.11, so the ledger makes the pattern impossible instead.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import LedgerError, LedgerLocked

if TYPE_CHECKING:
    import sqlite3

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock, reported by verify
    fcntl = None  # type: ignore[assignment]

RECORD_SIZE = 512
FIXED_SQLITE = (3, 51, 3)
CHECKPOINT_WAL_BYTES = 4 * 1024 * 1024  # SQLite's default auto-checkpoint (1,000 pages of 4 KB)


def sidecar(path: Path) -> Path:
    return Path(f"{path}-head")


@dataclass(frozen=True)
class Head:
    """The last run and the last evaluation set of a ledger (id 0: none yet)."""

    runs: tuple[int, str]
    evalsets: tuple[int, str]

    def to_dict(self) -> dict[str, object]:
        return {"runs": {"id": self.runs[0], "hash": self.runs[1]},
                "evalsets": {"id": self.evalsets[0], "hash": self.evalsets[1]}}


def read_head(conn: sqlite3.Connection) -> Head:
    """Both chains' heads as the database holds them now (id 0 and the genesis hash when empty)."""
    from .migrations import GENESIS_HASH

    heads = []
    for table in ("runs", "evalsets"):
        row = conn.execute(f"SELECT id, hash FROM {table} ORDER BY id DESC LIMIT 1").fetchone()
        heads.append((int(row[0]), str(row[1])) if row else (0, GENESIS_HASH))
    return Head(heads[0], heads[1])


@dataclass(frozen=True)
class Witness:
    """What ``<db>-head`` holds: the head last committed, and the head of an append in progress
    (written just before its commit, so that a writer killed between its commit and the witness's
    update leaves a head the witness still accounts for)."""

    head: Head
    pending: Head | None = None

    def accounts_for(self, head: Head) -> bool:
        return head == self.head or head == self.pending


def _encode(witness: Witness) -> bytes:
    import hashlib

    obj: dict[str, object] = {"v": 1, "runs": list(witness.head.runs), "evalsets": list(witness.head.evalsets)}
    if witness.pending is not None:
        obj["pending"] = [list(witness.pending.runs), list(witness.pending.evalsets)]
    body = json.dumps(obj, separators=(",", ":"))
    check = hashlib.sha256(body.encode()).hexdigest()[:16]
    line = f"{body} {check}\n".encode()
    return line.ljust(RECORD_SIZE - 1, b" ") + b"\n"


def _pair(value: object) -> tuple[int, str]:
    assert isinstance(value, list)
    return int(value[0]), str(value[1])


def _decode(data: bytes) -> Witness | None:
    """The witness in ``data``, or None when the bytes are not a whole witness line."""
    import hashlib

    text = data.decode("utf-8", errors="replace").strip()
    body, _, check = text.rpartition(" ")
    if not body or hashlib.sha256(body.encode()).hexdigest()[:16] != check:
        return None
    try:
        obj = json.loads(body)
        pending = obj.get("pending")
        return Witness(Head(_pair(obj["runs"]), _pair(obj["evalsets"])),
                       None if pending is None else Head(_pair(pending[0]), _pair(pending[1])))
    except (ValueError, KeyError, TypeError, IndexError, AssertionError):
        return None


def load(path: Path) -> Witness | None:
    """The witness beside ``path`` (None when there is none). A line caught half-written by a
    concurrent writer is read again; one that stays unreadable is an error."""
    target = sidecar(path)
    for _ in range(20):
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise LedgerError(f"cannot read {target} ({exc.strerror}); it records the ledger's last head") from None
        if not data.strip():
            return None  # created for the lock, never written: no head recorded yet
        found = _decode(data)
        if found is not None:
            return found
        time.sleep(0.005)
    raise LedgerError(f"{target} is damaged (it should hold the ledger's last head); move it aside "
                      "and run `ledger verify`")


def problems(conn: sqlite3.Connection, path: Path, witness: Witness | None, *, exact: bool = False) -> list[str]:
    """How the database disagrees with its witness (read *before* the database: a writer commits
    first and updates the witness after, so a database read later is never legitimately behind).
    ``exact`` (the caller holds the write lock): the head must be one the witness accounts for,
    so a run appended around ledger (plain sqlite3) is reported too."""
    if witness is None:
        return []
    out: list[str] = []
    for name, (wid, whash) in (("run", witness.head.runs), ("evaluation set", witness.head.evalsets)):
        if wid == 0:
            continue
        table = "runs" if name == "run" else "evalsets"
        row = conn.execute(f"SELECT hash FROM {table} WHERE id = ?", (wid,)).fetchone()
        last = conn.execute(f"SELECT MAX(id) FROM {table}").fetchone()[0] or 0
        if row is None:
            out.append(
                f"{path} has lost its tail: ledger wrote {name} {wid} here, but the file ends at "
                f"{name} {last} (a truncated file, a lost -wal, or an older copy restored); "
                f"restore the newest copy, or move {sidecar(path).name} aside to accept the loss"
            )
        elif row[0] != whash:
            out.append(
                f"{path}: its {name} {wid} is not the one ledger wrote (hash {str(row[0])[:12]}… "
                f"instead of {whash[:12]}…): the file was rewritten or replaced"
            )
    if exact and not out:
        head = read_head(conn)
        if not witness.accounts_for(head):
            known = witness.pending or witness.head
            extra = [f"runs {known.runs[0] + 1}-{head.runs[0]}" if head.runs != known.runs else "",
                     f"evaluation sets {known.evalsets[0] + 1}-{head.evalsets[0]}" if head.evalsets != known.evalsets else ""]
            out.append(f"{path}: {' and '.join(e for e in extra if e)} were not appended by ledger "
                       f"({sidecar(path).name} does not know them): written around it with another SQLite client")
    return out


def check(conn: sqlite3.Connection, path: Path, witness: Witness | None) -> None:
    """Refuse to open a ledger that is behind (or not) the one its witness saw."""
    found = problems(conn, path, witness)
    if found:
        raise LedgerError(f"{found[0]}; `ledger verify` tells more")


def sqlite_affected(version: str) -> bool:
    parts = tuple(int(p) for p in version.split(".")[:3])
    return (3, 7, 0) <= parts < FIXED_SQLITE


def mitigation(version: str) -> str:
    """What protects this ledger from the WAL-reset bug (for ``ledger verify``)."""
    if not sqlite_affected(version):
        return f"SQLite {version} has the WAL-reset fix (3.51.3 or later)"
    if fcntl is None:
        return (f"SQLite {version} has the WAL-reset bug and this platform has no advisory lock: "
                "keep to one writing process at a time")
    return (f"SQLite {version} has the WAL-reset bug (3.7.0-3.51.2); mitigated: every append, "
            "migration and checkpoint holds an exclusive advisory lock, and no connection "
            "checkpoints automatically")


class Guard:
    """The write lock of one :class:`~ledger.store.Ledger`: a thread lock (threads of one process
    share the ``flock``) and the ``flock`` on the sidecar (other processes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._thread_lock = threading.RLock()
        self._fd: int | None = None
        self._shm_fd: int | None = None
        self._depth = 0

    def _open(self) -> int:
        if self._fd is None:
            try:
                self._fd = os.open(sidecar(self.path), os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise LedgerError(f"cannot write to {self.path}: {sidecar(self.path)} cannot be opened "
                                  f"({exc.strerror}); a ledger is written only where its folder is writable") from None
        return self._fd

    @contextmanager
    def exclusive(self, timeout_s: float) -> Iterator[None]:
        """Hold the write lock (waiting up to ``timeout_s``; then :class:`LedgerLocked`)."""
        if not self._thread_lock.acquire(timeout=timeout_s if timeout_s > 0 else -1):
            raise _locked(self.path, timeout_s)
        try:
            if self._depth == 0 and fcntl is not None:
                self._flock(timeout_s)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and fcntl is not None and self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def _flock(self, timeout_s: float) -> None:
        fd = self._open()
        deadline = time.monotonic() + timeout_s
        delay = 0.0005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise _locked(self.path, timeout_s) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.02)

    def record(self, witness: Witness) -> None:
        """Write the witness (the caller holds the lock)."""
        fd = self._open()
        os.pwrite(fd, _encode(witness), 0)

    def checkpoint_if_due(self, conn: sqlite3.Connection) -> None:
        """Checkpoint while holding the lock, when the log written since the last checkpoint has
        grown past SQLite's usual mark (what its auto-checkpoint would do)."""
        size = self.wal_bytes()
        if size is not None and size >= CHECKPOINT_WAL_BYTES:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def wal_bytes(self) -> int | None:
        """:func:`wal_bytes` of this ledger, read through a descriptor on the ``-shm`` file kept
        open as long as the ledger is. Closing any descriptor on a file drops every POSIX lock
        the process holds on it, SQLite's included: opening and closing the ``-shm`` file on
        each append dropped SQLite's lock that marks the wal-index in use, and another process
        opening the ledger then reset the file under this one's memory map (the writer died of
        SIGBUS, 1 run in 4 of the eight-writer test)."""
        shm = f"{self.path}-shm"
        try:
            now = os.stat(shm)
            if self._shm_fd is not None:
                held = os.fstat(self._shm_fd)
                if (held.st_dev, held.st_ino) != (now.st_dev, now.st_ino):
                    # Replaced (every connection closed, SQLite deleted it): the old file's locks
                    # are no one's, so closing the old descriptor drops nothing.
                    os.close(self._shm_fd)
                    self._shm_fd = None
            if self._shm_fd is None:
                self._shm_fd = os.open(shm, os.O_RDONLY)
            return wal_bytes(os.pread(self._shm_fd, 48, 0))
        except OSError:
            return None

    def close(self) -> None:
        """After the ledger's connections are closed (SQLite holds no lock any more)."""
        for fd in (self._fd, self._shm_fd):
            if fd is not None:
                os.close(fd)
        self._fd = self._shm_fd = None


def wal_bytes(head: bytes) -> int | None:
    """Bytes of log in a WAL not yet reset by a checkpoint, from the first 48 bytes of its
    ``-shm`` file (the wal-index header: ``mxFrame``, the valid frames, and the page size;
    documented at sqlite.org/walformat.html, native byte order). The ``-wal`` file's size will
    not do: a checkpoint leaves the file at its size and the log restarts inside it. None when
    unreadable (the caller then does not checkpoint; the next append tries again)."""
    if len(head) < 48:
        return None
    page = int.from_bytes(head[14:16], sys.byteorder)
    frames = int.from_bytes(head[16:20], sys.byteorder)
    return frames * ((65536 if page == 1 else page) + 24)


def _locked(path: Path, timeout_s: float) -> LedgerLocked:
    from .db import locked_error

    return locked_error(path, timeout_s)
