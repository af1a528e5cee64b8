"""The ledger store: the only code that writes a ledger database, and it only appends.

An append validates everything first, then takes the write lock (``BEGIN IMMEDIATE``), reads the
chain head, and inserts the run row and its record columns in one transaction. A retried append
with the same client id (``uid``) returns the run already stored instead of adding a second one. A
lock held by another writer past the busy timeout raises :class:`LedgerLocked`: never a lost run.
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import params as _params
from .db import connect, is_lock_error, locked_error
from .errors import AppendOnlyViolation, InvalidRun, LedgerError, RunNotFound
from .hashing import canonical_json, row_hash, text_sha256
from .metrics import classification_metrics, latency_summary
from .migrations import GENESIS_HASH
from .model import KINDS, STATUSES, STORED_COLUMNS, Run, RunInput
from .records import Records, records_digest, sum_recorded

if TYPE_CHECKING:
    import pandas as pd

    from .evalsets import EvalRecords, EvalSet
    from .variants import Variant, VariantSummary

if TYPE_CHECKING:
    from .track import RunTracker

SUMMARY_COLUMNS = (
    "id", "kind", "created_at", "experiment", "hypothesis", "sample_size", "precision", "recall",
    "f1", "accuracy", "cost_per_record_usd", "time_per_record_s", "status", "parent_id",
)
_REAL_COLUMNS = ("precision", "recall", "f1", "accuracy", "cost_total_usd", "cost_per_record_usd", "time_per_record_s")
_SELECT_RUN = f"SELECT {', '.join(STORED_COLUMNS)} FROM runs"
_INSERT_RUN = f"INSERT INTO runs ({', '.join(STORED_COLUMNS)}) VALUES ({', '.join('?' * len(STORED_COLUMNS))})"


def utc_now() -> str:
    import datetime as _dt  # imported on the append path only: `ledger ls` never needs it

    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _finite(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRun(f"{where} must be a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        raise InvalidRun(f"{where} is too large for a number ({len(str(abs(value)))} digits)") from None
    if math.isnan(number) or math.isinf(number):
        raise InvalidRun(f"{where} is {value!r}; it must be a finite number")
    return number + 0.0  # -0.0 becomes 0.0, as SQLite stores it


def _stage_value(value: Any, where: str) -> Any:
    """A stage total: a finite number, true/false, or a short text (e.g. how an index was had)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        if len(value) > 200:
            raise InvalidRun(f"{where} is a text of {len(value)} characters; keep stage notes under 200")
        return value
    return _finite(value, where)


def _non_negative(value: Any, where: str) -> float | None:
    number = _finite(value, where)
    if number is not None and number < 0:
        raise InvalidRun(f"{where} is negative ({value!r}); it must be >= 0")
    return number


@dataclass(frozen=True)
class VerifyReport:
    """What ``verify`` found: ``ok`` only when every check passed."""

    path: str
    sqlite_version: str
    integrity_check: str
    runs_checked: int
    records_checked: int
    head_id: int | None
    head_hash: str
    problems: list[str] = field(default_factory=list)
    first_bad_run: int | None = None
    evalsets_head_id: int | None = None
    evalsets_head_hash: str = ""
    mitigation: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "path": self.path, "sqlite_version": self.sqlite_version,
            "integrity_check": self.integrity_check, "runs_checked": self.runs_checked,
            "records_checked": self.records_checked, "head_id": self.head_id,
            "head_hash": self.head_hash, "first_bad_run": self.first_bad_run,
            "evalsets_head_id": self.evalsets_head_id, "evalsets_head_hash": self.evalsets_head_hash,
            "wal_reset_mitigation": self.mitigation, "problems": list(self.problems),
        }


class Ledger:
    """A ledger file. Appends are the only writes; reads return frozen :class:`Run` objects.

    One ``Ledger`` may be shared by threads: each thread gets its own SQLite connection (opened on
    its first use), and appends take turns on the object's write lock, so threads behave like the
    separate processes the ledger already serialises. ``readonly`` opens the file read-only (an
    auditor's copy); a file or folder that is not writable is opened read-only anyway.
    """

    def __init__(self, path: Path | str, *, create: bool = False, timeout_s: float | None = None,
                 readonly: bool = False, verifying: bool = False) -> None:
        from .db import check_path
        from .witness import Guard

        check_path(Path(str(path)))
        self.path = Path(path)
        self._guard = Guard(self.path)
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._readonly = readonly
        # ``verifying``: open even a ledger that disagrees with its witness, so that verify can say how
        first = connect(self.path, create=create, timeout_s=timeout_s, guard=self._guard, readonly=readonly,
                        check_witness=not verifying)
        self._register(first)
        self.timeout_s = first.execute("PRAGMA busy_timeout").fetchone()[0] / 1000.0
        # evaluation sets never change once stored: their records are read once per Ledger
        self._evalset_records: dict[int, EvalRecords] = {}
        self._evalset_positions: dict[int, dict[str, int]] = {}
        self._variants: tuple[int | None, list[Variant]] | None = None

    def _register(self, conn: sqlite3.Connection) -> None:
        self._local.conn = conn
        with self._conns_lock:
            self._conns.append(conn)

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection to the ledger."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if not self._conns:
                raise LedgerError(f"the ledger {self.path} is closed")
            conn = connect(self.path, timeout_s=self.timeout_s, guard=self._guard, readonly=self._readonly,
                           check_witness=False)
            self._register(conn)
        return conn

    # ---- lifecycle ------------------------------------------------------------------

    def close(self) -> None:
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()
        self._local = threading.local()
        self._guard.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- writing --------------------------------------------------------------------

    def append(self, run: RunInput) -> Run:
        """Validate ``run``, then append it (and its records) atomically. Returns the stored run;
        a retry with a stored uid and the same content returns the stored run."""
        return self.append_many([run])[0]

    def append_many(self, runs: Sequence[RunInput], where: Sequence[str] | None = None) -> list[Run]:
        """Append every run of ``runs`` in one transaction, or none of them: each is validated
        before the write lock is taken, and any error inside the transaction rolls it all back.
        A later run may name an earlier one of the batch by ``parent_uid``/``refs_uids``.
        ``where`` names each run in error messages (e.g. ``file.jsonl:3``)."""
        labels = list(where) if where is not None else [""] * len(runs)
        prepared = []
        for run, label in zip(runs, labels, strict=True):
            try:
                prepared.append(_Prepared.build(run, self))
            except LedgerError as exc:
                raise _located(exc, label) from None
        out: list[Run] = []
        with self._write() as conn:
            for item, label in zip(prepared, labels, strict=True):
                try:
                    out.append(self._insert(conn, item))
                except LedgerError as exc:
                    raise _located(exc, label) from None
        return out

    def _insert(self, conn: sqlite3.Connection, prepared: _Prepared) -> Run:
        from .uids import conflict_message, differences

        head = conn.execute("SELECT id, hash FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        head_id, head_hash = (head[0], head[1]) if head else (0, GENESIS_HASH)
        row = prepared.row(self, head_id + 1, head_hash)
        existing = conn.execute("SELECT id FROM runs WHERE uid = ?", (prepared.uid,)).fetchone()
        if existing is not None:
            stored = self._row(existing[0])
            assert stored is not None
            run = prepared.run
            diffs = differences(stored, row, parent_given=run.parent is not None or run.parent_uid is not None,
                                environment_given=run.environment is not None)
            if diffs:
                raise InvalidRun(conflict_message(prepared.uid, stored, diffs))
            return Run.from_row(stored)
        for sha, text in prepared.prompt_texts.items():
            conn.execute("INSERT INTO prompts (sha256, text) VALUES (?, ?)", (sha, text))
        conn.execute(_INSERT_RUN, [row[name] for name in STORED_COLUMNS])
        if prepared.storage:
            conn.executemany(
                "INSERT INTO records (run_id, name, kind, data) VALUES (?, ?, ?, ?)",
                [(row["id"], name, kind, data) for name, kind, data in prepared.storage],
            )
        return Run.from_row(row)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: the write lock (see :mod:`ledger.witness`), then ``BEGIN
        IMMEDIATE`` (so that the head read inside it is the head written after it), committed when
        the block ends, rolled back on any error; then the witness of the new head."""
        from .witness import Witness, read_head

        conn = self.conn
        if getattr(self._local, "writing", False):
            yield conn  # inside batch(): one transaction for everything in it
            return
        with self._guard.exclusive(self.timeout_s):
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise self._database_error(exc) from None
            try:
                before = read_head(conn)
                self._local.writing = True
                try:
                    yield conn
                finally:
                    self._local.writing = False
                after = read_head(conn)
                self._guard.record(Witness(before, after))
                conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                _rollback(conn)
                raise self._database_error(exc) from None
            except sqlite3.IntegrityError as exc:
                _rollback(conn)
                raise AppendOnlyViolation(f"append refused by the database: {exc}") from None
            except (OverflowError, sqlite3.InterfaceError) as exc:
                _rollback(conn)
                raise InvalidRun(f"a value cannot be stored: {exc}; integers must fit in 64 bits") from None
            except BaseException:
                _rollback(conn)
                raise
            # the head just committed: no other writer can have moved it while the lock is held
            self._guard.record(Witness(after))
            self._guard.checkpoint_if_due(conn)

    def batch(self) -> Any:
        """A block whose appends (runs and evaluation sets) are one transaction: all or nothing."""
        return self._write()

    def _database_error(self, exc: sqlite3.OperationalError) -> LedgerError:
        if is_lock_error(exc):
            return locked_error(self.path, self.timeout_s)
        text = str(exc)
        if "readonly" in text.replace(" ", "").lower():
            return LedgerError(f"{self.path} is read-only here; nothing was written (write to a writable copy)")
        if "disk is full" in text or "disk I/O" in text:
            return LedgerError(f"cannot write {self.path}: {text}; nothing was written (free some space and retry)")
        return LedgerError(f"cannot write {self.path}: {text}; nothing was written")

    def add_evalset(
        self,
        name: str,
        records: EvalRecords,
        *,
        description: str = "",
        source: dict[str, Any] | None = None,
        created_at: str | None = None,
    ) -> EvalSet:
        """Store an evaluation set. The same name with the same records returns the stored set;
        the same name with other records is an error (a set never changes once stored)."""
        from . import columns as C
        from .evalsets import EvalSet, evalset_hash
        from .hashing import canonical_json
        from .scrub import scrub_evalset
        from .secrets import Redactor

        _check_name(name, "evaluation set name")
        if not isinstance(description, str):
            raise InvalidRun("description must be a string")
        redactor = Redactor()
        name, description = redactor.text(name), redactor.text(description)
        records, found = scrub_evalset(records, redactor)
        if found:
            source = {**(source or {}), "redacted": f"credential(s) replaced by [REDACTED] in {', '.join(dict.fromkeys(found))}"}
        storage = records.to_storage()
        digest = C.digest(storage)
        conn = self.conn
        with self._write():
            found = conn.execute("SELECT id, digest FROM evalsets WHERE name = ?", (name,)).fetchone()
            if found is not None:
                if found[1] != digest:
                    raise InvalidRun(
                        f"evaluation set {name!r} already exists with other records; a set never "
                        "changes: choose another name (`ledger evalset ls` lists them)"
                    )
                stored_id = found[0]
            else:
                head = conn.execute("SELECT id, hash FROM evalsets ORDER BY id DESC LIMIT 1").fetchone()
                row: dict[str, Any] = {
                    "id": (head[0] if head else 0) + 1,
                    "name": name,
                    "created_at": created_at or utc_now(),
                    "description": description,
                    "source": canonical_json(source or {}),
                    "record_count": len(records),
                    "labels": canonical_json(records.label_counts()),
                    "fields": canonical_json(records.fields()),
                    "digest": digest,
                    "prev_hash": head[1] if head else GENESIS_HASH,
                }
                row["hash"] = evalset_hash(row)
                names = list(row)
                conn.execute(f"INSERT INTO evalsets ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                             [row[k] for k in names])
                conn.executemany(
                    "INSERT INTO evalset_columns (evalset_id, name, kind, data) VALUES (?, ?, ?, ?)",
                    [(row["id"], n, k, d) for n, k, d in storage],
                )
                return EvalSet.from_row(row)
        return self.evalset(stored_id)

    def track(self, experiment: str, *, capture_code: bool = True, **fields: Any) -> RunTracker:
        """Record a run as a block runs: ``with ledger.track("exp", hypothesis=...) as run:``."""
        from .track import RunTracker

        return RunTracker(self, RunInput(experiment=experiment, **fields), capture_code=capture_code)

    # ---- reading --------------------------------------------------------------------

    def _row(self, run_id: int) -> dict[str, Any] | None:
        values = self.conn.execute(f"{_SELECT_RUN} WHERE id = ?", (run_id,)).fetchone()
        if values is None:
            return None
        return dict(zip(STORED_COLUMNS, values, strict=True))

    def get(self, run_id: int) -> Run:
        row = self._row(run_id)
        if row is None:
            raise RunNotFound(self._unknown(run_id))
        return Run.from_row(row)

    def _unknown(self, run_id: int) -> str:
        return f"no run {run_id} in {self.path} ({self.describe_ids()}); `ledger ls` lists them"

    def describe_ids(self) -> str:
        last = self.conn.execute("SELECT MAX(id) FROM runs").fetchone()[0]
        return f"runs are numbered 1 to {last}" if last else "the ledger is empty"

    def exists(self, run_id: int) -> bool:
        return self.conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is not None

    def runs(
        self,
        *,
        experiment: str | None = None,
        status: str | None = None,
        kind: str | None = "run",
        last: int | None = None,
        ids: list[int] | None = None,
    ) -> list[Run]:
        where, args = _filters(experiment, status, kind, ids)
        sql = f"{_SELECT_RUN}{where} ORDER BY id"
        if last is not None:
            sql = f"SELECT * FROM ({sql} DESC LIMIT {int(last)}) ORDER BY id"
        return [Run.from_row(dict(zip(STORED_COLUMNS, r, strict=True))) for r in self.conn.execute(sql, args)]

    def summaries(
        self,
        *,
        experiment: str | None = None,
        status: str | None = None,
        kind: str | None = "run",
        last: int | None = None,
    ) -> list[dict[str, Any]]:
        """The ``ledger ls`` columns, without parsing any JSON (the fast listing path)."""
        where, args = _filters(experiment, status, kind, None)
        sql = f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM runs{where} ORDER BY id"
        if last is not None:
            sql = f"SELECT * FROM ({sql} DESC LIMIT {int(last)}) ORDER BY id"
        return [dict(zip(SUMMARY_COLUMNS, r, strict=True)) for r in self.conn.execute(sql, args)]

    def count(self, kind: str | None = "run") -> int:
        if kind is None:
            return int(self.conn.execute("SELECT count(*) FROM runs").fetchone()[0])
        return int(self.conn.execute("SELECT count(*) FROM runs WHERE kind = ?", (kind,)).fetchone()[0])

    def experiments(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT DISTINCT experiment FROM runs ORDER BY experiment")]

    def head(self) -> tuple[int | None, str]:
        row = self.conn.execute("SELECT id, hash FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (None, GENESIS_HASH)

    def record_columns(self, run_id: int, names: list[str] | None = None) -> list[tuple[str, str, bytes]]:
        """The stored (name, kind, bytes) columns of a run's records (all, or those named)."""
        if names is None:
            cur = self.conn.execute(
                "SELECT name, kind, CAST(data AS BLOB) FROM records WHERE run_id = ? ORDER BY name", (run_id,)
            )
        else:
            marks = ", ".join("?" * len(names))
            cur = self.conn.execute(
                f"SELECT name, kind, CAST(data AS BLOB) FROM records WHERE run_id = ? AND name IN ({marks}) ORDER BY name",
                (run_id, *names),
            )
        return [(r[0], r[1], bytes(r[2])) for r in cur]

    def records(self, run_id: int) -> Records:
        if not self.exists(run_id):
            raise RunNotFound(self._unknown(run_id))
        return Records.from_storage(self.record_columns(run_id))

    def prompt_text(self, sha256: str) -> str | None:
        row = self.conn.execute("SELECT text FROM prompts WHERE sha256 = ?", (sha256,)).fetchone()
        return None if row is None else row[0]

    # ---- evaluation sets -------------------------------------------------------------------

    def evalsets(self) -> list[EvalSet]:
        from .evalsets import EVALSET_COLUMNS, EvalSet

        names = (*EVALSET_COLUMNS, "hash")
        cur = self.conn.execute(f"SELECT {', '.join(names)} FROM evalsets ORDER BY id")
        return [EvalSet.from_row(dict(zip(names, r, strict=True))) for r in cur]

    def evalset(self, key: int | str) -> EvalSet:
        """The evaluation set with this id or name."""
        from .errors import UsageError
        from .evalsets import EVALSET_COLUMNS, EvalSet

        names = (*EVALSET_COLUMNS, "hash")
        where = "id = ?" if isinstance(key, int) else "name = ?"
        row = self.conn.execute(f"SELECT {', '.join(names)} FROM evalsets WHERE {where}", (key,)).fetchone()
        if row is None:
            known = [r[0] for r in self.conn.execute("SELECT name FROM evalsets ORDER BY id")]
            have = f"the sets are: {', '.join(known)}" if known else "the ledger has none yet"
            raise UsageError(f"no evaluation set {key!r} ({have}); create one with `ledger evalset create`")
        return EvalSet.from_row(dict(zip(names, row, strict=True)))

    def evalset_records(self, evalset_id: int, *, digest: str | None = None) -> EvalRecords:
        """An evaluation set's records; with ``digest`` (the set's), the stored columns are checked
        against it first (a set edited around the database's triggers is refused, not used)."""
        from . import columns as C
        from .evalsets import EvalRecords

        found = self._evalset_records.get(evalset_id)
        if found is None:
            stored = [(r[0], r[1], bytes(r[2])) for r in self.conn.execute(
                "SELECT name, kind, CAST(data AS BLOB) FROM evalset_columns WHERE evalset_id = ? ORDER BY name",
                (evalset_id,),
            )]
            if digest is not None and C.digest(stored) != digest:
                from .errors import IntegrityFailure

                raise IntegrityFailure(
                    f"evaluation set {evalset_id}'s records do not match its digest: they were "
                    "changed outside ledger; `ledger verify` shows where"
                )
            found = EvalRecords.from_storage(stored)
            self._evalset_records[evalset_id] = found
        return found

    def evalset_positions(self, evalset_id: int) -> dict[str, int]:
        """Record id -> position in the evaluation set (cached: a set never changes)."""
        found = self._evalset_positions.get(evalset_id)
        if found is None:
            ids = self.evalset_records(evalset_id).ids
            found = self._evalset_positions[evalset_id] = {rid: i for i, rid in enumerate(ids)}
        return found

    # ---- variants ------------------------------------------------------------------------------

    def variants(self, experiment: str | None = None) -> list[Variant]:
        """Every variant (numbered in the order of its first run), or those of one experiment."""
        head = self.conn.execute("SELECT MAX(id) FROM runs").fetchone()[0]
        if self._variants is None or self._variants[0] != head:
            self._variants = (head, _build_variants(self.conn))
        found = self._variants[1]
        return [v for v in found if experiment is None or v.experiment == experiment]

    def variant_summaries(self, experiment: str | None = None) -> list[VariantSummary]:
        """Each variant over its successful runs (see :class:`~ledger.variants.VariantSummary`)."""
        from .variants import summarize

        variants = self.variants(experiment)
        by_id = {r.id: r for r in self.runs(experiment=experiment, kind="run")}
        return [summarize(v, [by_id[i] for i in v.run_ids if i in by_id]) for v in variants]

    def variant_of(self, run: Run) -> Variant | None:
        return next((v for v in self.variants() if v.fingerprint == run.variant), None)

    # ---- notebooks (pandas is imported by these only) ------------------------------------------

    def runs_frame(self, *, experiment: str | None = None, status: str | None = None,
                   kind: str | None = "run", params: bool = False) -> pd.DataFrame:
        """The runs as a pandas DataFrame (index: run id); see :func:`ledger.frames.runs_frame`."""
        from .frames import runs_frame

        return runs_frame(self, experiment=experiment, status=status, kind=kind, params=params)

    def variants_frame(self) -> pd.DataFrame:
        """The variants as a pandas DataFrame (index: v1, v2, ...), with their runs' mean and spread."""
        from .frames import variants_frame

        return variants_frame(self)

    def children(self, run_id: int, kind: str | None = None) -> list[Run]:
        """Rows whose refs name ``run_id`` (decisions, analyses, corrections about it)."""
        rows = self.runs(kind=kind)
        return [r for r in rows if run_id in r.refs]

    # ---- verification ---------------------------------------------------------------

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every read in the block sees the ledger as of one moment (one read transaction), so
        that rows and the chain head read together agree while others append."""
        conn = self.conn
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN")
        try:
            conn.execute("SELECT 1 FROM runs LIMIT 1").fetchall()  # the snapshot starts here
            yield
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def verify(self) -> VerifyReport:
        """Recompute the chain and every records digest; run SQLite's integrity check; check the
        append-only triggers' SQL and the witness of the head (see :mod:`ledger.witness`)."""
        from .witness import load as load_witness
        from .witness import problems as witness_problems

        outside = self._witness_check(load_witness, witness_problems)
        with self.snapshot():
            return self._verify(outside)

    def _verify(self, outside: list[str]) -> VerifyReport:
        conn = self.conn
        problems: list[str] = []
        first_bad: int | None = None

        def bad(run_id: int | None, message: str) -> None:
            nonlocal first_bad
            problems.append(message)
            if run_id is not None and first_bad is None:
                first_bad = run_id

        integrity = "; ".join(r[0] for r in conn.execute("PRAGMA integrity_check"))
        if integrity != "ok":
            bad(None, f"SQLite integrity_check: {integrity}")
        from .migrations import expected_trigger_sql, normalise_sql
        from .witness import mitigation

        triggers = {r[0]: r[1] or "" for r in conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")}
        for name, sql in expected_trigger_sql().items():
            if name not in triggers:
                bad(None, f"append-only trigger {name} is missing: the database was altered outside ledger")
            elif normalise_sql(triggers[name]) != sql:
                bad(None, f"append-only trigger {name} has been rewritten (its SQL is not the one ledger "
                          "created): the database was altered outside ledger")
        for name in sorted(set(triggers) - set(expected_trigger_sql())):
            bad(None, f"trigger {name} is not one of ledger's: the database was altered outside ledger")
        for problem in outside:
            bad(None, problem)
        evalset_digests, evalsets_head = self._verify_evalsets(bad)
        expected_prev = GENESIS_HASH
        expected_id = 1
        runs_checked = records_checked = 0
        head_id: int | None = None
        cur = conn.execute(f"{_SELECT_RUN} ORDER BY id")
        for values in cur:
            row = dict(zip(STORED_COLUMNS, values, strict=True))
            run_id = row["id"]
            runs_checked += 1
            if run_id != expected_id:
                bad(run_id, f"run {run_id}: expected run {expected_id} next; runs {expected_id}..{run_id - 1} are missing (deleted?)")
            if row["prev_hash"] != expected_prev:
                bad(run_id, f"run {run_id}: prev_hash does not match the hash of the run before it (rows edited, removed or reordered)")
            try:
                recomputed = row_hash(row)
            except (TypeError, ValueError) as exc:
                recomputed = f"<unhashable: {exc}>"
            if recomputed != row["hash"]:
                bad(run_id, f"run {run_id}: stored values do not match its hash (edited after it was appended)")
            columns = self.record_columns(run_id)
            records_checked += 1 if columns else 0
            digest = records_digest(columns) if columns else None
            if digest != row["records_digest"]:
                bad(run_id, f"run {run_id}: its records do not match the digest in its row (records edited, added or removed)")
            if row["evalset_id"] is not None:
                pinned = (_safe_json(row["dataset"]) or {}).get("evalset_digest")
                if evalset_digests.get(row["evalset_id"]) != pinned:
                    bad(run_id, f"run {run_id}: the evaluation set it names is missing or its "
                                "records differ from the ones the run was scored on")
            for name, sha in (_safe_json(row["prompts"]) or {}).items():
                text = self.prompt_text(sha)
                if text is None or text_sha256(text) != sha:
                    bad(run_id, f"run {run_id}: prompt '{name}' text is missing or does not match its hash")
            expected_prev = row["hash"]
            expected_id = run_id + 1
            head_id = run_id
        orphans = conn.execute(
            "SELECT DISTINCT run_id FROM records WHERE run_id NOT IN (SELECT id FROM runs)"
        ).fetchall()
        for (run_id,) in orphans:
            bad(run_id, f"records stored for run {run_id}, which is not in the ledger")
        return VerifyReport(
            path=str(self.path),
            sqlite_version=sqlite3.sqlite_version,
            integrity_check=integrity,
            runs_checked=runs_checked,
            records_checked=records_checked,
            head_id=head_id,
            head_hash=expected_prev,
            problems=problems,
            first_bad_run=first_bad,
            evalsets_head_id=evalsets_head[0] or None,
            evalsets_head_hash=evalsets_head[1],
            mitigation=mitigation(sqlite3.sqlite_version),
        )


    def _witness_check(self, load: Any, problems: Any) -> list[str]:
        """The database against its witness: exactly, under the write lock, where the lock can be
        taken (not on a read-only copy, where only a lost tail can be told)."""
        if self.conn.in_transaction:
            return []  # inside a snapshot: the witness may be newer than what the snapshot sees
        if self._readonly:
            return list(problems(self.conn, self.path, load(self.path)))
        try:
            with self._guard.exclusive(self.timeout_s):
                return list(problems(self.conn, self.path, load(self.path), exact=True))
        except LedgerError:
            return list(problems(self.conn, self.path, load(self.path)))

    def _verify_evalsets(self, bad: Any) -> tuple[dict[int, str], tuple[int, str]]:
        """Check the evaluation sets' chain and each set's records against its digest; returns
        {set id: digest} of the sets whose records match (what the runs' pins are checked against)
        and the head of the sets' chain."""
        from . import columns as C
        from .evalsets import EVALSET_COLUMNS, evalset_hash

        names = (*EVALSET_COLUMNS, "hash")
        good: dict[int, str] = {}
        expected_prev, expected_id = GENESIS_HASH, 1
        for values in self.conn.execute(f"SELECT {', '.join(names)} FROM evalsets ORDER BY id"):
            row = dict(zip(names, values, strict=True))
            sid, label = row["id"], f"evaluation set {row['id']} ({row['name']!r})"
            if sid != expected_id:
                bad(None, f"{label}: expected set {expected_id} next; sets are missing (deleted?)")
            if row["prev_hash"] != expected_prev:
                bad(None, f"{label}: prev_hash does not match the set before it (rows edited or removed)")
            try:
                recomputed = evalset_hash(row)
            except (TypeError, ValueError):
                recomputed = ""
            if recomputed != row["hash"]:
                bad(None, f"{label}: stored values do not match its hash (edited after it was stored)")
            cur = self.conn.execute(
                "SELECT name, kind, CAST(data AS BLOB) FROM evalset_columns WHERE evalset_id = ?", (sid,))
            if C.digest((r[0], r[1], bytes(r[2])) for r in cur) != row["digest"]:
                bad(None, f"{label}: its records do not match its digest (records edited, added or removed)")
            else:
                good[sid] = row["digest"]
            expected_prev, expected_id = row["hash"], sid + 1
        return good, (expected_id - 1, expected_prev)


def _located(exc: LedgerError, where: str) -> LedgerError:
    """``exc`` with ``where`` (the document it is about) in front of its message."""
    if not where or str(exc).startswith(where):
        return exc
    located = type(exc)(f"{where}: {exc}")
    return located


def _safe_json(text: str | None) -> Any:
    import json

    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


_UNSTORABLE = {
    "unicode": "hold text that is not valid Unicode (an unpaired surrogate such as \\ud800)",
    "number": "hold NaN or an infinite number; use finite numbers (or leave the value out)",
}


MAX_INT = 2**63 - 1
MAX_DEPTH = 32  # a run document is a few levels deep; readers recurse over what is stored


def _check_values(value: Any, where: str, depth: int = 0) -> None:
    """Refuse what a reader of the stored JSON could not take back: integers beyond 64 bits
    (SQLite, JSON readers in other languages), non-finite floats and absurd nesting."""
    if depth > MAX_DEPTH:
        raise InvalidRun(f"{where}: values nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if not -MAX_INT - 1 <= value <= MAX_INT:
            raise InvalidRun(f"{where}: an integer with {len(str(abs(value))) if value.bit_length() < 14000 else 'thousands of'} "
                             "digits is too large (integers must fit in 64 bits); store it as a string")
    elif isinstance(value, float):
        if value != value or value in (math.inf, -math.inf):
            raise InvalidRun(f"{where}: values {_UNSTORABLE['number']}")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_values(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _check_values(item, where, depth + 1)


def _check_storable(value: Any, where: str) -> None:
    """Raise InvalidRun unless ``value`` has a canonical JSON form that encodes as UTF-8 and that
    every reader can take back."""
    if value is None:
        return
    _check_values(value, where)
    try:
        canonical_json(value).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRun(f"{where}: values {_UNSTORABLE['unicode']}") from None
    except ValueError:
        raise InvalidRun(f"{where}: values {_UNSTORABLE['number']}") from None
    except (TypeError, RecursionError) as exc:
        raise InvalidRun(f"{where}: a value cannot be stored as JSON ({exc})") from None


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _filters(
    experiment: str | None, status: str | None, kind: str | None, ids: list[int] | None
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if experiment is not None:
        clauses.append("experiment = ?")
        args.append(experiment)
    if status is not None:
        if status not in STATUSES:
            raise LedgerError(f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
        clauses.append("status = ?")
        args.append(status)
    if kind is not None:
        clauses.append("kind = ?")
        args.append(kind)
    if ids is not None:
        clauses.append(f"id IN ({', '.join(str(int(i)) for i in ids)})")
    return (" WHERE " + " AND ".join(clauses) if clauses else "", args)


def _build_variants(conn: sqlite3.Connection) -> list[Variant]:
    """Group the runs by variant. Rows appended before variants existed (``variant`` NULL) get
    theirs derived from their params and prompts, as :meth:`Run.from_row` does."""
    import json

    from .variants import Variant, fingerprint, legacy_name

    cur = conn.execute(
        "SELECT id, experiment, parent_id, variant, variant_name, "
        "CASE WHEN variant IS NULL THEN params END, CASE WHEN variant IS NULL THEN prompts END, "
        "CASE WHEN variant IS NULL THEN notes END FROM runs WHERE kind = 'run' ORDER BY id"
    )
    order: dict[str, dict[str, Any]] = {}
    of_run: dict[int, str] = {}
    for run_id, experiment, parent_id, variant, name, params, prompts, notes in cur:
        if variant is None:
            variant = fingerprint(experiment, json.loads(params), json.loads(prompts), legacy=True)
            name = legacy_name(notes)
        of_run[run_id] = variant
        entry = order.get(variant)
        if entry is None:
            entry = order[variant] = {"experiment": experiment, "name": name, "runs": [],
                                      "parent_run": parent_id}
        elif entry["name"] is None:
            entry["name"] = name
        entry["runs"].append(run_id)
    number = {fp: i for i, fp in enumerate(order, start=1)}
    out: list[Variant] = []
    for fp, entry in order.items():
        parent_fp = of_run.get(entry["parent_run"]) if entry["parent_run"] is not None else None
        parent = number.get(parent_fp) if parent_fp is not None and parent_fp != fp else None
        out.append(Variant(number[fp], fp, entry["name"], entry["experiment"], tuple(entry["runs"]), parent))
    return out


def _check_name(name: Any, what: str) -> None:
    if not isinstance(name, str) or not name.strip():
        raise InvalidRun(f"{what} must be a non-empty string")
    if len(name) > 200 or any(ord(ch) < 32 or ord(ch) == 127 for ch in name) or name != name.strip():
        raise InvalidRun(f"{what} {name!r} must be at most 200 printable characters, without "
                         "leading or trailing spaces")


@dataclass
class _Prepared:
    """Everything about an append that can be computed before taking the write lock."""

    run: RunInput
    uid: str
    params: dict[str, Any]
    prompt_hashes: dict[str, str]
    prompt_texts: dict[str, str]
    storage: list[tuple[str, str, bytes]]
    digest: str | None
    fields: dict[str, Any]
    variant: str | None
    evalset_id: int | None

    @classmethod
    def build(cls, run: RunInput, ledger: Ledger) -> _Prepared:
        if run.kind not in KINDS:
            raise InvalidRun(f"kind {run.kind!r} is not one of {', '.join(KINDS)}")
        if run.status not in STATUSES:
            raise InvalidRun(f"status {run.status!r} is not one of {', '.join(STATUSES)}")
        if not isinstance(run.experiment, str) or not run.experiment.strip():
            raise InvalidRun("experiment must be a non-empty string")
        for name in ("hypothesis", "notes", "caveats"):
            if not isinstance(getattr(run, name), str):
                raise InvalidRun(f"{name} must be a string")
        if run.parent is not None and (isinstance(run.parent, bool) or not isinstance(run.parent, int)):
            raise InvalidRun(f"parent must be a run id (an integer), got {run.parent!r}")
        for ref in run.refs:
            if isinstance(ref, bool) or not isinstance(ref, int):
                raise InvalidRun(f"refs must be run ids (integers), got {ref!r}")
        if run.uid is not None and (not isinstance(run.uid, str) or not run.uid):
            raise InvalidRun("uid must be a non-empty string")
        if run.positive_label is not None and not isinstance(run.positive_label, str):
            raise InvalidRun("positive_label must be a string")
        if run.variant is not None:
            _check_name(run.variant, "variant")
        if not isinstance(run.variant_exclude, list) or not all(isinstance(k, str) for k in run.variant_exclude):
            raise InvalidRun("variant.exclude must be a list of parameter names")
        condition = run.body.get("revisit_when") if isinstance(run.body, dict) else None
        if run.kind == "decision" and condition is not None:
            from .expr import ExpressionError, parse

            try:
                parse(condition)
            except ExpressionError as exc:
                raise InvalidRun(f"body.revisit_when: {exc}") from None
        if run.replicate is not None and not isinstance(run.replicate, dict):
            raise InvalidRun("replicate must be an object such as {\"index\": 0, \"of\": 3, \"seed\": 7}")
        evalset_id: int | None = None
        if run.evalset is not None:
            run, evalset_id = _against_evalset(run, ledger)
        from .scrub import scrub_run

        run = scrub_run(run)
        flat = _params.flatten(run.params)
        prompt_texts: dict[str, str] = {}
        prompt_hashes: dict[str, str] = {}
        for name, text in sorted(run.prompts.items()):
            if not isinstance(text, str):
                raise InvalidRun(f"prompts.{name} must be the prompt's text")
            sha = text_sha256(text)
            prompt_hashes[name] = sha
            prompt_texts[sha] = text
        reported: dict[str, float] = {}
        for name, value in run.reported_metrics.items():
            number = _finite(value, f"reported metric '{name}'")
            assert number is not None
            reported[name] = number
        records = run.records
        try:
            storage = records.to_storage() if records is not None else []
        except UnicodeEncodeError:
            raise InvalidRun(f"records {_UNSTORABLE['unicode']}") from None
        except (ValueError, TypeError, RecursionError) as exc:
            raise InvalidRun(f"records: an input or output value cannot be stored as JSON ({exc})") from None
        digest = records_digest(storage) if storage else None
        try:
            fields = _outcomes(run, records, storage)
        except OverflowError:
            raise InvalidRun("records: cost, tokens or latency add up to more than a number can hold "
                             "(values near 1e308); check the units") from None
        fields["reported_metrics"] = reported
        # Computed here, before the write lock: the first call reads package metadata (~30 ms).
        fields["environment"] = run.environment if run.environment is not None else _env()
        # Everything row() serialises must be storable, checked here: a failure inside the
        # append's transaction would surface as a bare ValueError instead of InvalidRun.
        for name in ("experiment", "hypothesis", "notes", "caveats", "error", "uid", "created_at",
                     "positive_label", "code", "dataset", "cost", "timing", "environment", "body",
                     "replicate"):
            _check_storable(getattr(run, name), name)
        _check_storable(flat, "params")
        _check_storable(prompt_texts, "prompts")
        _check_storable(fields, "cost or timing")
        variant = None
        if run.kind == "run":
            from .variants import fingerprint

            variant = fingerprint(run.experiment, flat, prompt_hashes, exclude=run.variant_exclude,
                                  code=run.code if run.variant_code else None)
        import uuid

        return cls(run, run.uid or uuid.uuid4().hex, flat, prompt_hashes, prompt_texts, storage,
                   digest, fields, variant, evalset_id)

    def row(self, ledger: Ledger, run_id: int, prev_hash: str) -> dict[str, Any]:
        run = self.run
        conn = ledger.conn
        parent_id = run.parent
        if run.parent_uid is not None:
            found = conn.execute("SELECT id FROM runs WHERE uid = ?", (run.parent_uid,)).fetchone()
            if found is not None:
                parent_id = int(found[0])
            elif parent_id is None:
                raise InvalidRun(f"parent_uid {run.parent_uid!r} names no run in this ledger")
        refs = list(run.refs)
        if run.refs_uids:
            mapped = [conn.execute("SELECT id FROM runs WHERE uid = ?", (u,)).fetchone() for u in run.refs_uids]
            if all(m is not None for m in mapped):
                refs = [int(m[0]) for m in mapped]
        if parent_id is not None:
            if parent_id >= run_id or not ledger.exists(parent_id):
                raise InvalidRun(f"parent run {parent_id} is not in the ledger; `ledger ls` lists the runs")
        elif run.kind == "run":
            parent_id = _default_parent(conn, run.experiment, self.variant)
        for ref in refs:
            if ref >= run_id or not ledger.exists(ref):
                raise InvalidRun(f"run {ref} (in refs) is not in the ledger; `ledger ls` lists the runs")
        params_diff: dict[str, Any] = {}
        prompts_diff: dict[str, Any] = {}
        if parent_id is not None:
            parent_row = conn.execute("SELECT params, prompts FROM runs WHERE id = ?", (parent_id,)).fetchone()
            import json

            params_diff = _params.diff(json.loads(parent_row[0]), self.params)
            prompts_diff = _params.diff(json.loads(parent_row[1]), self.prompt_hashes)
        f = self.fields
        row: dict[str, Any] = {
            "id": run_id,
            "uid": self.uid,
            "kind": run.kind,
            "created_at": run.created_at or utc_now(),
            "experiment": run.experiment,
            "parent_id": parent_id,
            "refs": canonical_json(sorted(set(refs))),
            "status": run.status,
            "error": run.error,
            "hypothesis": run.hypothesis,
            "notes": run.notes,
            "caveats": run.caveats,
            "params": canonical_json(self.params),
            "params_diff": canonical_json(params_diff),
            "prompts": canonical_json(self.prompt_hashes),
            "prompts_diff": canonical_json(prompts_diff),
            "code": None if run.code is None else canonical_json(run.code),
            "dataset": None if run.dataset is None else canonical_json(run.dataset),
            "sample_size": f["sample_size"],
            "positive_label": run.positive_label,
            "metrics": canonical_json(f["metrics"]),
            "reported_metrics": canonical_json(f["reported_metrics"]),
            "precision": f["metrics"].get("precision"),
            "recall": f["metrics"].get("recall"),
            "f1": f["metrics"].get("f1"),
            "accuracy": f["metrics"].get("accuracy"),
            "cost": canonical_json(f["cost"]),
            "cost_total_usd": f["cost"].get("total_usd"),
            "cost_per_record_usd": f["cost"].get("per_record_usd"),
            "timing": canonical_json(f["timing"]),
            "time_per_record_s": f["timing"].get("per_record_s"),
            "environment": canonical_json(f["environment"]),
            "body": canonical_json(run.body),
            "record_count": len(run.records) if run.records is not None else 0,
            "records_digest": self.digest,
            "prev_hash": prev_hash,
            "variant": self.variant,
            "variant_name": run.variant if run.kind == "run" else None,
            "evalset_id": self.evalset_id,
            "replicate": None if run.replicate is None else canonical_json(run.replicate),
        }
        for name in _REAL_COLUMNS:
            if row[name] is not None:
                row[name] = float(row[name]) + 0.0  # stored as SQLite stores it: -0.0 reads back 0.0
        row["hash"] = row_hash(row)
        return row


def _default_parent(conn: sqlite3.Connection, experiment: str, variant: str | None) -> int | None:
    """Repeats of a variant share the parent of its first run (a repeat is not a change); a new
    variant derives from the experiment's latest successful run."""
    first = conn.execute(
        "SELECT parent_id FROM runs WHERE kind = 'run' AND variant = ? ORDER BY id LIMIT 1", (variant,)
    ).fetchone()
    if first is not None:
        return int(first[0]) if first[0] is not None else None
    prev = conn.execute(
        "SELECT id FROM runs WHERE kind = 'run' AND experiment = ? AND status = 'ok' ORDER BY id DESC LIMIT 1",
        (experiment,),
    ).fetchone()
    return int(prev[0]) if prev else None


def _against_evalset(run: RunInput, ledger: Ledger) -> tuple[RunInput, int]:
    """Check a run's records against the evaluation set it names: every record id is one of the
    set's and carries the set's label. Strata the records leave out are the set's; inputs equal to
    the set's are not stored again (the set holds them). The run's dataset pins the set's digest."""
    from dataclasses import replace

    if not isinstance(run.evalset, str):
        raise InvalidRun("evalset must be the name of an evaluation set")
    try:
        found = ledger.evalset(run.evalset)
    except LedgerError as exc:
        raise InvalidRun(str(exc)) from None
    dataset = dict(run.dataset or {})
    dataset.update(evalset=found.name, evalset_digest=found.digest)
    dataset.setdefault("population", found.record_count)
    records = run.records
    if records is None or not len(records):
        return replace(run, dataset=dataset), found.id
    rows = ledger.evalset_records(found.id)

    def aligned(column: list[Any]) -> list[Any]:
        return column if same_order else [column[i] for i in where]

    # The common case, every record of the set in the set's order, is checked at C speed.
    same_order = records.ids == rows.ids
    where: list[int] = []
    if not same_order:
        position = ledger.evalset_positions(found.id)
        for k, rid in enumerate(records.ids):
            i = position.get(rid)
            if i is None:
                raise InvalidRun(f"records[{k}]: record {rid!r} is not in evaluation set {found.name!r}")
            where.append(i)
    expected_labels = aligned(rows.labels)
    if expected_labels != records.labels:
        k = next(k for k, (x, y) in enumerate(zip(records.labels, expected_labels, strict=True)) if x != y)
        raise InvalidRun(f"records[{k}]: record {records.ids[k]!r} has label {records.labels[k]!r}, but "
                         f"evaluation set {found.name!r} says {expected_labels[k]!r}")
    strata = records.strata
    if strata is None and rows.strata is not None:
        strata = aligned(rows.strata)
    inputs = {name: values for name, values in records.inputs.items()
              if name not in rows.inputs or aligned(rows.inputs[name]) != values}
    if strata is not records.strata or inputs != records.inputs:
        records = replace(records, strata=strata, inputs=inputs)
    return replace(run, dataset=dataset, records=records), found.id


def _env() -> dict[str, Any]:
    from .envinfo import environment

    return environment()


def _outcomes(run: RunInput, records: Records | None,
              storage: list[tuple[str, str, bytes]] | None = None) -> dict[str, Any]:
    """Metrics, cost and timing from the records (and what the caller gave where records lack it)."""
    n = len(records) if records is not None else 0
    dataset = run.dataset or {}
    sample_size = n or int(_non_negative(dataset.get("sample_size"), "dataset.sample_size") or 0)
    if sample_size > MAX_INT:
        raise InvalidRun(f"dataset.sample_size {sample_size} is too large (at most {MAX_INT})")
    metrics: dict[str, Any] = {}
    if records is not None and n:
        coded = {name: data for name, kind, data in storage or () if kind == "codes"}
        if "label" in coded and "prediction" in coded:  # the codes just packed for storage
            from .columns import split_codes
            from .metrics import metrics_from_codes

            label_names, label_codes = split_codes(coded["label"])
            pred_names, pred_codes = split_codes(coded["prediction"])
            metrics = metrics_from_codes(label_names, label_codes, pred_names, pred_codes, run.positive_label)
        else:
            metrics = classification_metrics(records.labels, records.predictions, run.positive_label)
    cost_in = dict(run.cost or {})
    cost: dict[str, Any] = {
        k: v for k, v in cost_in.items() if k in ("model", "prices", "billing", "cache_hits", "calls")
    }
    if "billing" in cost and cost["billing"] not in ("billed", "estimated"):
        raise InvalidRun(f"cost.billing must be 'billed' or 'estimated', got {cost['billing']!r}")
    col = records.column("cost_usd") if records is not None else None
    total = _non_negative(cost_in.get("total_usd"), "cost.total_usd")
    if col is not None:
        from_records = sum_recorded(col)
        total = from_records
    for name in ("input_tokens", "output_tokens"):
        tok = records.column(name) if records is not None else None
        value = _non_negative(cost_in.get(name), f"cost.{name}")
        if tok is not None:
            value = sum_recorded(tok)
        if value is not None:
            cost[name] = int(value) if float(value).is_integer() else value
    if total is not None:
        cost["total_usd"] = total
        cost["per_record_usd"] = total / sample_size if sample_size else None
    timing_in = dict(run.timing or {})
    timing: dict[str, Any] = {}
    wall = _non_negative(timing_in.get("wall_s"), "timing.wall_s")
    if wall is not None:
        timing["wall_s"] = wall
    lat = records.column("latency_ms") if records is not None else None
    if lat is not None:
        summary = latency_summary(lat)
        if summary is not None:
            timing["per_record_ms"] = summary
    order = timing_in.get("stage_order")
    if order is not None:
        if not isinstance(order, list) or not all(isinstance(x, str) for x in order):
            raise InvalidRun("timing.stage_order must be a list of stage names")
        timing["stage_order"] = order
    stages = timing_in.get("stages")
    if stages is not None:
        if not isinstance(stages, dict) or not all(
            isinstance(v, dict) and all(x is None or isinstance(x, (int, float, str)) for x in v.values())
            for v in stages.values()
        ):
            raise InvalidRun("timing.stages must be an object of stage: {wall_s: number, ...} (numbers, "
                             "true/false or short texts per stage)")
        timing["stages"] = {k: {f: _stage_value(x, f"timing.stages.{k}.{f}") for f, x in v.items()}
                            for k, v in stages.items()}
    elif records is not None and records.stage_names():
        timing["stages"] = _stage_totals(records)
    if wall is not None and sample_size:
        timing["per_record_s"] = wall / sample_size
    elif "per_record_ms" in timing:
        timing["per_record_s"] = timing["per_record_ms"]["mean"] / 1000.0
    return {"sample_size": sample_size, "metrics": metrics, "cost": cost, "timing": timing}


def _stage_totals(records: Records) -> dict[str, dict[str, float]]:
    """Per stage: the sums of its recorded latency, tokens and cost columns."""
    out: dict[str, dict[str, float]] = {}
    for name, col in records.numeric.items():
        if not name.startswith("stages."):
            continue
        _, stage, field_name = name.split(".", 2)
        if field_name in ("latency_ms", "input_tokens", "output_tokens", "cost_usd"):
            out.setdefault(stage, {})[f"{field_name}_total"] = sum_recorded(col)
    return out
