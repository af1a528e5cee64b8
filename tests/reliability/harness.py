"""Workloads shared by the reliability tests (reduced size) and ``bench/torture.py`` (full size).

Every workload runs real processes against a real SQLite file and returns a plain dict of what it
observed; the callers assert on it (tests) or write it to docs/reliability.md (torture). The child
roles run as ``python -m tests.reliability.harness ROLE ...`` from the repository root.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


# ---- child roles ---------------------------------------------------------------------------


def _small_run(experiment: str, uid: str, n_records: int, seed: int) -> Any:
    from ledger import Records, RunInput

    rng = random.Random(seed)
    labels = ["wrong" if rng.random() < 0.1 else "ok" for _ in range(n_records)]
    preds = [lab if rng.random() < 0.9 else ("ok" if lab == "wrong" else "wrong") for lab in labels]
    records = Records.from_columns(
        [f"r{i}" for i in range(n_records)], labels, preds,
        numeric={
            "cost_usd": [rng.uniform(0, 0.001) for _ in range(n_records)],
            "latency_ms": [rng.uniform(5, 80) for _ in range(n_records)],
            "scores.flag": [rng.random() for _ in range(n_records)],
        },
    )
    return RunInput(
        experiment=experiment, uid=uid, hypothesis=f"run {uid}", records=records,
        positive_label="wrong", params={"worker": uid.split("-")[0], "seed": seed},
    )


def role_writer(db: str, worker: str, count: int, n_records: int, out: str) -> None:
    """Append ``count`` runs (uids ``{worker}-{i}``); write latencies and lock errors to ``out``."""
    from ledger import Ledger, LedgerError, LedgerLocked

    latencies: list[float] = []
    lock_errors = 0
    other_errors: list[str] = []
    with Ledger(db) as ledger:
        # Start together: warm up (imports, package metadata), announce readiness, wait for the
        # go signal: process start-up is not an append's latency.
        from ledger.envinfo import environment
        from ledger.store import _Prepared

        environment()
        _Prepared.build(_small_run("warm", "warm-up", n_records, 0), ledger)
        Path(f"{out}.ready").touch()
        go = Path(out).with_name("go")
        while not go.exists():
            time.sleep(0.005)
        for i in range(count):
            run = _small_run(f"exp-{worker}", f"{worker}-{i}", n_records, hash((worker, i)) & 0xFFFF)
            start = time.perf_counter()
            try:
                ledger.append(run)
            except LedgerLocked:
                lock_errors += 1
                continue
            except LedgerError as exc:
                other_errors.append(str(exc))
                continue
            latencies.append(time.perf_counter() - start)
    Path(out).write_text(json.dumps({
        "latencies": latencies, "lock_errors": lock_errors, "other_errors": other_errors,
    }))


def role_reader(db: str, stop: str, out: str) -> None:
    """List, read the newest run's records and check the chain prefix until ``stop`` exists."""
    from ledger import Ledger, LedgerError

    reads = 0
    errors: list[str] = []
    with Ledger(db) as ledger:
        while not os.path.exists(stop):
            try:
                rows = ledger.summaries(kind=None)
                if rows:
                    ledger.records(rows[-1]["id"])
                ids = [r["id"] for r in rows]
                if ids != list(range(1, len(ids) + 1)):
                    errors.append(f"reader saw a gap: {len(ids)} rows, max id {max(ids)}")
                reads += 1
            except LedgerError as exc:
                errors.append(str(exc))
            time.sleep(0.002)  # a reader polls; it does not spin a core
    Path(out).write_text(json.dumps({"reads": reads, "errors": errors}))


def role_exporter(db: str, stop: str, out: str) -> None:
    """Export every run as run documents, repeatedly, until ``stop`` exists; each export must be
    a consistent snapshot (a gapless, chained prefix of the ledger)."""
    from ledger import Ledger, LedgerError
    from ledger.document import run_to_document

    exports = 0
    errors: list[str] = []
    last_size = 0
    with Ledger(db) as ledger:
        while not os.path.exists(stop):
            try:
                ledger.conn.execute("BEGIN")  # one read snapshot for the whole export
                try:
                    docs = [
                        run_to_document(run, ledger.records(run.id), {})
                        for run in ledger.runs(kind=None)
                    ]
                finally:
                    ledger.conn.execute("COMMIT")
                text = json.dumps(docs)
                prev = "0" * 64
                for index, doc in enumerate(docs, start=1):
                    if doc["id"] != index or doc["prev_hash"] != prev:
                        errors.append(f"export {exports}: chain broken at run {doc['id']}")
                        break
                    prev = doc["hash"]
                last_size = len(text)
                exports += 1
            except LedgerError as exc:
                errors.append(str(exc))
            time.sleep(0.002)
    Path(out).write_text(json.dumps({"exports": exports, "errors": errors, "last_bytes": last_size}))


def role_crash_writer(db: str, prefix: str, n_records: int) -> None:
    """Append runs forever, printing ``uid id`` (flushed) after each append returns."""
    from ledger import Ledger

    with Ledger(db) as ledger:
        # warm up (numpy for the metrics, package metadata): the kills are meant to land during
        # appends, not during the first append's imports
        from ledger.envinfo import environment
        from ledger.metrics import classification_metrics, latency_summary

        environment()
        classification_metrics(["a"], ["a"])
        latency_summary([1.0])
        print("ready", flush=True)
        i = 0
        while True:
            run = ledger.append(_small_run("crash", f"{prefix}-{i}", n_records, i))
            sys.stdout.write(f"{run.uid} {run.id}\n")
            sys.stdout.flush()
            i += 1


def role_hold_lock(db: str, seconds: str) -> None:
    """Hold the write lock (BEGIN IMMEDIATE) for ``seconds``, announcing it on stdout."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    time.sleep(float(seconds))
    conn.execute("ROLLBACK")
    conn.close()


ROLES = {
    "writer": lambda a: role_writer(a[0], a[1], int(a[2]), int(a[3]), a[4]),
    "reader": lambda a: role_reader(a[0], a[1], a[2]),
    "exporter": lambda a: role_exporter(a[0], a[1], a[2]),
    "crash_writer": lambda a: role_crash_writer(a[0], a[1], int(a[2])),
    "hold_lock": lambda a: role_hold_lock(a[0], a[1]),
}


def spawn(role: str, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.harness", role, *args],
        cwd=ROOT, text=True, **kwargs,
    )


@contextmanager
def outside_edit(db: Path) -> Iterator[sqlite3.Connection]:
    """What a determined editor does: drop every trigger, edit, put the triggers back."""
    conn = sqlite3.connect(db, isolation_level=None)
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    try:
        yield conn
    finally:
        for _, sql in triggers:
            conn.execute(sql)
        conn.close()


ALLOWED = {"status": ("ok", "failed", "cancelled"), "kind": ("run", "decision", "analysis", "correction")}


def _changed(value: object, rng: random.Random, column: str = "") -> object:
    """A different value of the same kind (text stays text, numbers stay numbers)."""
    if column in ALLOWED:
        return next(v for v in ALLOWED[column] if v != value)
    if value is None:
        return "x"
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + rng.randint(1, 9)
    if isinstance(value, float):
        return value + rng.choice([1e-9, 0.5, -0.25])
    text = str(value)
    if text.startswith(("{", "[")):
        data = json.loads(text)
        if isinstance(data, dict) and data:
            key = rng.choice(sorted(data))
            data[key] = "tampered"
        elif isinstance(data, list):
            data.append(1)
        else:
            data = {"tampered": True}
        return json.dumps(data, sort_keys=True, separators=(",", ":"))
    pos = rng.randrange(len(text)) if text else 0
    return text[:pos] + ("Z" if text[pos:pos + 1] != "Z" else "Y") + text[pos + 1:]


# ---- workloads -----------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def concurrency(workdir: Path, writers: int = 8, per_writer: int = 50, n_records: int = 50,
                readers: int = 2) -> dict[str, Any]:
    """``writers`` processes append ``per_writer`` runs each while ``readers`` readers and one
    exporter run; returns what the ledger holds afterwards and what every process saw."""
    from ledger import Ledger

    db = workdir / "concurrency.db"
    Ledger(db, create=True).close()
    stop = workdir / "stop"
    start = time.perf_counter()
    side = [spawn("reader", str(db), str(stop), str(workdir / f"reader{i}.json")) for i in range(readers)]
    side.append(spawn("exporter", str(db), str(stop), str(workdir / "exporter.json")))
    procs = [
        spawn("writer", str(db), f"w{k}", str(per_writer), str(n_records), str(workdir / f"writer{k}.json"))
        for k in range(writers)
    ]
    deadline = time.monotonic() + 300
    while not all((workdir / f"writer{k}.json.ready").exists() for k in range(writers)):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            break
        time.sleep(0.01)
    start = time.perf_counter()
    (workdir / "go").touch()
    codes = [p.wait(timeout=1800) for p in procs]
    wall = time.perf_counter() - start
    stop.touch()
    side_codes = [p.wait(timeout=120) for p in side]
    outs = [json.loads((workdir / f"writer{k}.json").read_text()) for k in range(writers)]
    reads = [json.loads((workdir / f"reader{i}.json").read_text()) for i in range(readers)]
    export = json.loads((workdir / "exporter.json").read_text())
    latencies = [x for o in outs for x in o["latencies"]]
    with Ledger(db) as ledger:
        rows = ledger.summaries(kind=None)
        uids = [r.uid for r in ledger.runs(kind=None)]
        report = ledger.verify()
    expected = {f"w{k}-{i}" for k in range(writers) for i in range(per_writer)}
    ids = [r["id"] for r in rows]
    return {
        "writers": writers, "per_writer": per_writer, "readers": readers, "n_records": n_records,
        "exit_codes": codes + side_codes,
        "runs": len(rows),
        "expected": len(expected),
        "lost": len(expected - set(uids)),
        "duplicates": len(uids) - len(set(uids)),
        "gaps": (max(ids) - len(ids)) if ids else 0,
        "ids_contiguous": ids == list(range(1, len(ids) + 1)),
        "verify_ok": report.ok,
        "verify_problems": report.problems[:3],
        "lock_errors": sum(o["lock_errors"] for o in outs),
        "other_errors": [e for o in outs for e in o["other_errors"]][:3],
        "reader_reads": sum(r["reads"] for r in reads),
        "reader_errors": [e for r in reads for e in r["errors"]][:3],
        "exports": export["exports"],
        "export_errors": export["errors"][:3],
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "max_ms": 1000 * max(latencies) if latencies else float("nan"),
        "wall_s": wall,
    }


def check_ledger(db: Path, since_id: int = 0) -> dict[str, Any]:
    """Open ``db`` the way a user would and report integrity_check, verify and the stored uids;
    the records of runs after ``since_id`` are also loaded and counted."""
    from ledger import Ledger

    conn = sqlite3.connect(db)
    integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    conn.close()
    with Ledger(db) as ledger:
        report = ledger.verify()
        new_runs = ledger.runs(kind=None, ids=list(range(since_id + 1, (ledger.head()[0] or 0) + 1)))
        partial = [
            r.id for r in new_runs
            if r.record_count and len(ledger.records(r.id)) != r.record_count
        ]
    # uid -> id of every row: read straight from the file (cheap; the harness only reads).
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    uids = dict(conn.execute("SELECT uid, id FROM runs").fetchall())
    count = len(uids)
    conn.close()
    cli = subprocess.run(
        [str(Path(sys.executable).with_name("ledger")), "verify", "--db", str(db)],
        capture_output=True, text=True, check=False,
    )
    return {
        "integrity": integrity, "verify_ok": report.ok, "problems": report.problems[:3],
        "cli_verify_exit": cli.returncode, "uids": uids,
        "partial": partial, "count": count,
    }


def crashes(workdir: Path, kills: int = 10, n_records: int = 500, seed: int = 0,
            max_delay_s: float = 0.4, fresh_every: int = 25) -> dict[str, Any]:
    """Start a writer, ``kill -9`` it at a random moment, check the ledger; ``kills`` times.
    A new ledger file is started every ``fresh_every`` kills so that the checks stay quick."""
    from ledger import Ledger

    rng = random.Random(seed)
    acknowledged: dict[str, int] = {}
    failures: list[str] = []
    checked = 0
    total_ack = total_stored = 0
    db = workdir / "crash.db"
    for k in range(kills):
        if k % fresh_every == 0:
            if k:
                final = check_ledger(db, since_id=checked)
                total_ack += len(acknowledged)
                total_stored += final["count"]
            db = workdir / f"crash{k // fresh_every}.db"
            Ledger(db, create=True).close()
            acknowledged, checked = {}, 0
        proc = spawn("crash_writer", str(db), f"k{k}", str(n_records),
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        if first != "ready":
            failures.append(f"kill {k}: writer did not start: {first!r} {proc.stderr.read() if proc.stderr else ''}")
            proc.kill()
            proc.wait()
            continue
        time.sleep(rng.uniform(0, max_delay_s))
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2:
                acknowledged[parts[0]] = int(parts[1])
        state = check_ledger(db, since_id=checked)
        checked = state["count"]
        missing = [u for u in acknowledged if u not in state["uids"]]
        wrong_id = [u for u, i in acknowledged.items() if state["uids"].get(u, i) != i]
        if state["integrity"] != "ok" or not state["verify_ok"] or state["cli_verify_exit"] != 0:
            failures.append(f"kill {k}: ledger damaged: {state['integrity']} {state['problems']}")
        if missing or wrong_id or state["partial"]:
            failures.append(f"kill {k}: missing {missing[:3]} wrong id {wrong_id[:3]} partial {state['partial'][:3]}")
    final = check_ledger(db, since_id=checked)
    total_ack += len(acknowledged)
    total_stored += final["count"]
    return {
        "kills": kills, "acknowledged": total_ack, "stored": total_stored,
        "unacknowledged_stored": total_stored - total_ack,
        "failures": failures, "verify_ok": final["verify_ok"], "integrity": final["integrity"],
    }


def run_crashes(workdir: Path, kills: int = 3, seed: int = 0, sample: int = 40, repeat: int = 6,
                config: str = "configs/02_embeddings.toml", max_delay_s: float = 8.0) -> dict[str, Any]:
    """``kill -9`` a ``ledger run`` (offline provider, ``repeat`` runs per process) at random
    moments; after each kill the ledger must open, verify and hold only complete runs, including
    every run a finished process reported."""
    from ledger import Ledger

    rng = random.Random(seed)
    db = workdir / "run-crash.db"
    Ledger(db, create=True).close()
    exe = str(Path(sys.executable).with_name("ledger"))
    env = {**os.environ, "LEDGER_CACHE_DIR": str(workdir / "cache"), "LEDGER_PROGRESS": "0"}
    acknowledged: dict[int, str] = {}
    failures: list[str] = []
    finished_before_kill = 0
    for k in range(kills):
        proc = subprocess.Popen(
            [exe, "run", str(ROOT / config), "-n", str(sample), "-r", str(repeat), "--seed", str(k),
             "-q", "--db", str(db)],
            cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            proc.wait(timeout=rng.uniform(0.5, max_delay_s))
            finished_before_kill += 1
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        if proc.returncode not in (0, -signal.SIGKILL):
            failures.append(f"kill {k}: ledger run exited {proc.returncode}: {err.strip()[-300:]}")
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "run" and parts[1].isdigit():
                acknowledged[int(parts[1])] = line
        state = check_ledger(db)
        if state["integrity"] != "ok" or not state["verify_ok"] or state["cli_verify_exit"] != 0:
            failures.append(f"kill {k}: ledger damaged: {state['integrity']} {state['problems']}")
        with Ledger(db) as ledger:
            runs = ledger.runs()
            stored = {r.id for r in runs}
            incomplete = [r.id for r in runs if r.status != "ok" or r.record_count != sample
                          or len(ledger.records(r.id)) != sample]
        if incomplete or state["partial"]:
            failures.append(f"kill {k}: partial runs stored: {incomplete[:3]} {state['partial'][:3]}")
        missing = sorted(set(acknowledged) - stored)
        if missing:
            failures.append(f"kill {k}: reported runs missing: {missing[:3]}")
    # After all that, the pipeline still runs to completion on the same ledger and caches.
    final = subprocess.run(
        [exe, "run", str(ROOT / config), "-n", str(sample), "-q", "--db", str(db)],
        cwd=workdir, env=env, capture_output=True, text=True, check=False,
    )
    if final.returncode != 0:
        failures.append(f"a clean ledger run after the kills failed: {final.stderr.strip()[-300:]}")
    with Ledger(db) as ledger:
        count = ledger.count()
    return {"kills": kills, "finished_before_kill": finished_before_kill, "acknowledged": len(acknowledged),
            "stored": count, "failures": failures}


def tamper_campaign(workdir: Path, runs: int = 60, trials: int = 50, seed: int = 0) -> dict[str, Any]:
    """Build a ledger of ``runs`` runs, then ``trials`` times: copy it, make one random outside edit
    (a cell, a records blob, a deleted row or two swapped rows), and check that verify fails at
    the right run. Returns counts per kind of edit and any edit that was missed or misplaced."""
    from ledger import Ledger
    from ledger.model import RUN_COLUMNS

    rng = random.Random(seed)
    pristine = workdir / "pristine.db"
    with Ledger(pristine, create=True) as ledger:
        for i in range(runs):
            run = _small_run(f"e{i % 4}", f"t-{i}", 40, i)
            run.prompts = {"rerank": f"prompt {i % 5}"}
            ledger.append(run)
    columns = [c for c in (*RUN_COLUMNS, "hash") if c != "id"]
    caught: dict[str, int] = {}
    misses: list[str] = []
    for trial in range(trials):
        db = workdir / "t.db"
        src, dst = sqlite3.connect(pristine), sqlite3.connect(db)
        src.backup(dst)
        src.close()
        dst.close()
        kind = rng.choice(["cell", "cell", "cell", "blob", "delete", "swap"])
        target = rng.choice([1, runs, rng.randint(1, runs)])
        with outside_edit(db) as conn:
            if kind == "cell":
                column = rng.choice(columns)
                old = conn.execute(f"SELECT {column} FROM runs WHERE id = ?", (target,)).fetchone()[0]
                conn.execute(f"UPDATE runs SET {column} = ? WHERE id = ?", (_changed(old, rng, column), target))
                kind = f"cell {column}"
                expected = target
            elif kind == "blob":
                name, data = rng.choice(conn.execute(
                    "SELECT name, data FROM records WHERE run_id = ?", (target,)).fetchall())
                data = bytes(data)
                pos = rng.randrange(len(data))
                flipped = bytes([data[pos] ^ (1 << rng.randrange(8))])
                conn.execute("UPDATE records SET data = ? WHERE run_id = ? AND name = ?",
                             (data[:pos] + flipped + data[pos + 1:], target, name))
                expected = target
            elif kind == "delete":
                target = rng.randint(1, runs - 1)  # deleting the head is what --expect-head is for
                conn.execute("DELETE FROM runs WHERE id = ?", (target,))
                expected = target + 1
            else:
                a, b = sorted(rng.sample(range(1, runs + 1), 2))
                cols = ", ".join(columns)
                ra = conn.execute(f"SELECT {cols} FROM runs WHERE id = ?", (a,)).fetchone()
                rb = conn.execute(f"SELECT {cols} FROM runs WHERE id = ?", (b,)).fetchone()
                sets = ", ".join(f"{c} = ?" for c in columns)
                conn.execute("UPDATE runs SET uid = 'tmp', hash = 'tmp' WHERE id = ?", (a,))
                conn.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*ra, b))
                conn.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*rb, a))
                expected = a
        with Ledger(db) as ledger:
            report = ledger.verify()
        family = kind.split()[0]
        if report.ok or report.first_bad_run != expected:
            misses.append(f"trial {trial}: {kind} at run {expected}: verify said ok={report.ok} "
                          f"first_bad={report.first_bad_run}")
        else:
            caught[family] = caught.get(family, 0) + 1
    return {"runs": runs, "trials": trials, "caught": caught, "misses": misses}


if __name__ == "__main__":
    ROLES[sys.argv[1]](sys.argv[2:])


# ---- issue 15's fault classes: truncation, WAL loss, shared-object threads, partial logs -------


def _fault_ledger(db: Path, n: int, seed: int, checkpoint: bool = True) -> list[str]:
    from ledger import Ledger

    with Ledger(db, create=True) as ledger:
        hashes = [ledger.append(_small_run("f", f"f-{seed}-{i}", 20, seed * 1000 + i)).hash for i in range(n)]
        if checkpoint:
            ledger.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    return hashes


def _opens_whole_or_refuses(db: Path, hashes: list[str]) -> str | None:
    """None when the ledger opens with every acknowledged run intact, or refuses to open;
    otherwise what went wrong (runs silently lost)."""
    from ledger import Ledger, LedgerError

    try:
        with Ledger(db) as ledger:
            stored = [r.hash for r in ledger.runs()]
    except LedgerError:
        return None
    if stored != hashes:
        return f"{db.name}: opened with {len(stored)} of {len(hashes)} acknowledged runs and no error"
    return None


def truncations(workdir: Path, trials: int, seed: int) -> dict[str, Any]:
    """A ledger file cut to a random length (zero included): never read as a shorter ledger."""
    rng = random.Random(seed)
    failures = []
    for t in range(trials):
        db = workdir / f"trunc{t}.db"
        hashes = _fault_ledger(db, rng.randint(1, 8), t)
        size = db.stat().st_size
        cut = 0 if t % 3 == 0 else rng.randint(0, size - 1)
        with db.open("r+b") as fh:
            fh.truncate(cut)
        problem = _opens_whole_or_refuses(db, hashes)
        if problem:
            failures.append(problem)
    return {"tried": trials, "held": trials - len(failures), "failures": failures}


def wal_losses(workdir: Path, trials: int, seed: int) -> dict[str, Any]:
    """The -wal of an idle writer deleted (the file copied without it): acknowledged runs that
    lived only in the WAL are never silently missing."""
    from ledger import Ledger

    rng = random.Random(seed)
    failures = []
    for t in range(trials):
        db = workdir / f"wal{t}.db"
        hashes = _fault_ledger(db, rng.randint(1, 4), t)
        idle = Ledger(db)
        hashes += [idle.append(_small_run("f", f"w-{t}-{i}", 20, i)).hash for i in range(rng.randint(1, 4))]
        lost = workdir / f"lost{t}.db"
        lost.write_bytes(db.read_bytes())
        Path(f"{lost}-head").write_bytes(Path(f"{db}-head").read_bytes())
        idle.close()
        problem = _opens_whole_or_refuses(lost, hashes)
        if problem:
            failures.append(problem)
    return {"tried": trials, "held": trials - len(failures), "failures": failures}


def shared_threads(workdir: Path, rounds: int, threads: int = 8, each: int = 40) -> dict[str, Any]:
    """One Ledger object shared by threads: every acknowledged run stored once under its own id."""
    import threading

    from ledger import Ledger, LedgerError

    failures: list[str] = []
    for r in range(rounds):
        ledger = Ledger(workdir / f"threads{r}.db", create=True)
        acked: dict[str, str] = {}
        lock = threading.Lock()

        def work(w: int, ledger: Any = ledger, acked: dict[str, str] = acked, lock: threading.Lock = lock, r: int = r) -> None:
            for i in range(each):
                try:
                    run = ledger.append(_small_run(f"w{w}", f"{w}-{i}", 20, r * 10_000 + w * 100 + i))
                    with lock:
                        acked[run.uid] = run.hash
                except LedgerError as exc:
                    failures.append(f"round {r}: {exc}")
                except Exception as exc:
                    failures.append(f"round {r}: {type(exc).__name__}: {exc}")

        pool = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        stored = {run.uid: run.hash for run in ledger.runs()}
        if stored != acked or len(stored) != threads * each:
            failures.append(f"round {r}: {len(acked)} acknowledged, {len(stored)} stored, "
                            f"{sum(stored.get(u) != h for u, h in acked.items())} misfiled")
        report = ledger.verify()
        if not report.ok:
            failures.append(f"round {r}: verify: {report.problems[0]}")
        ledger.close()
    return {"tried": rounds, "held": rounds - len({f.split(':')[0] for f in failures}), "failures": failures}


def partial_logs(workdir: Path, trials: int, seed: int) -> dict[str, Any]:
    """A multi-document `ledger log` with one bad document (anywhere): nothing appended; the
    corrected file then appends every run exactly once."""
    rng = random.Random(seed)
    failures = []
    exe = str(Path(sys.executable).with_name("ledger"))
    for t in range(trials):
        db = workdir / f"log{t}.db"
        subprocess.run([exe, "init", "--db", str(db)], capture_output=True, check=True)
        n = rng.randint(2, 30)
        bad_at = rng.randrange(n)
        docs = [{"experiment": "p", "uid": f"p-{t}-{i}",
                 "records": [{"id": f"r{j}", "label": "a", "prediction": "a"} for j in range(5)]} for i in range(n)]
        broken = [dict(d) for d in docs]
        broken[bad_at] = {**docs[bad_at], rng.choice(["status", "parent", "timing"]): rng.choice(["weird", 10**6, {"wall_s": -1}])}
        path = workdir / f"log{t}.jsonl"
        path.write_text("\n".join(json.dumps(d) for d in broken))
        first = subprocess.run([exe, "log", str(path), "--db", str(db)], capture_output=True, text=True, check=False)
        count = sqlite3.connect(db).execute("SELECT count(*) FROM runs").fetchone()[0]
        if first.returncode == 0 or count != 0:
            failures.append(f"trial {t}: bad document {bad_at + 1} of {n}: exit {first.returncode}, {count} appended")
            continue
        path.write_text("\n".join(json.dumps(d) for d in docs))
        for _ in range(2):  # the retry of a retry appends nothing more
            subprocess.run([exe, "log", str(path), "--db", str(db)], capture_output=True, check=True)
        count = sqlite3.connect(db).execute("SELECT count(*) FROM runs").fetchone()[0]
        if count != n:
            failures.append(f"trial {t}: {count} runs after the corrected file was logged twice, expected {n}")
    return {"tried": trials, "held": trials - len(failures), "failures": failures}
