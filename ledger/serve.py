"""``ledger serve``: the ledger in Datasette, read-only, for people who would rather browse.

Datasette serves a *snapshot*: a consistent copy made with SQLite's backup API (so that runs still
in the write-ahead log are in it and the ledger file itself is never opened by Datasette), in
immutable mode (SQLite opens it with ``immutable=1``: no write, no lock), on 127.0.0.1. Its
metadata describes every table and column and adds canned queries: runs by variant, the latest
decisions, tripped reversal triggers, and the cases behind a comparison. None of them writes; an
``INSERT`` typed into Datasette's SQL box is refused ("Statement must be a SELECT").

``ledger serve --metadata FILE`` writes the metadata only, for ``datasette ledger.db -i -m FILE``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import datasette_sql as Q
from .errors import LedgerError

if TYPE_CHECKING:
    from .store import Ledger

RUN_COLUMNS_HELP = {
    "id": "Run number (what users type: `ledger show 12`)",
    "uid": "Client-made unique id: a retried append never adds a second row",
    "kind": "run, decision, analysis, correction or push",
    "created_at": "When the row was appended (UTC)",
    "experiment": "Experiment name",
    "parent_id": "The run this one changes (its params_diff is against it)",
    "refs": "Rows this row is about (decisions, analyses, corrections, pushes), as a JSON list",
    "status": "ok, failed or cancelled",
    "error": "Why a failed run failed",
    "hypothesis": "What the run was meant to show",
    "notes": "Free notes",
    "caveats": "Known caveats",
    "params": "Every parameter, flattened to dotted keys (JSON)",
    "params_diff": "Parameters changed against the parent run (JSON: key -> from/to)",
    "prompts": "Prompt name -> SHA-256 of its text (texts in the prompts table)",
    "prompts_diff": "Prompts changed against the parent run",
    "code": "Code version: git commit, dirty flag, patch digest (JSON)",
    "dataset": "Data set: name, digest, sample size, seed, evaluation set (JSON)",
    "sample_size": "Number of records evaluated",
    "positive_label": "The class whose precision/recall/F1 are the headline",
    "metrics": "Every metric, computed by the ledger from the records (JSON, per class too)",
    "reported_metrics": "Metrics given by the caller or an imported source, not computed (JSON)",
    "precision": "Headline precision (positive class, else macro), computed from the records",
    "recall": "Headline recall, computed from the records",
    "f1": "Headline F1, computed from the records",
    "accuracy": "Accuracy, computed from the records",
    "cost": "Cost: total and per record (USD), tokens, prices, billed or estimated (JSON)",
    "cost_total_usd": "Total cost in USD",
    "cost_per_record_usd": "Cost per record in USD",
    "timing": "Time: wall, per-record latency p50/p95/p99, per stage (JSON)",
    "time_per_record_s": "Time per record in seconds",
    "environment": "Python, packages, machine (JSON)",
    "body": "Decision (why, revisit_when), analysis results, push targets, import source (JSON)",
    "record_count": "Number of per-record outcomes stored",
    "records_digest": "SHA-256 over the stored record columns",
    "prev_hash": "Hash of the row before: the chain",
    "hash": "SHA-256 of this row: editing any value breaks the chain (`ledger verify`)",
    "variant": "Variant fingerprint (params and prompts); repeats of a variant share it",
    "variant_name": "The variant's readable name (config file stem)",
    "evalset_id": "The evaluation set the records come from",
    "replicate": "Which repeat of the variant this run is (JSON)",
}
COLUMN_STORAGE = ("Stored column by column: id as a JSON array; label, prediction, stratum as a "
                  "uint32 length, a JSON dictionary and one int32 code per record; numbers as "
                  "float64; inputs/outputs as JSON arrays. The cases query decodes them.")


def _tables() -> dict[str, Any]:
    return {
        "runs": {
            "description": "One row per run, decision, analysis, correction or push. Append-only: "
                           "triggers refuse UPDATE and DELETE, and each row's hash covers the one before.",
            "columns": RUN_COLUMNS_HELP, "sort_desc": "id", "facets": ["experiment", "kind", "status"],
        },
        "records": {
            "description": f"Per-record outcomes of each run, one row per column. {COLUMN_STORAGE}",
            "columns": {"run_id": "The run", "name": "Column name (id, label, prediction, stratum, "
                        "cost_usd, latency_ms, scores.<name>, stages.<stage>.<field>, input.<field>, output.<field>)",
                        "kind": "Encoding: text, codes, real or json", "data": "The encoded column"},
        },
        "evalsets": {
            "description": "Evaluation sets: named, frozen record sets, chained like the runs.",
            "columns": {"name": "Set name (runs name it)", "record_count": "Records in the set",
                        "labels": "Label -> count (JSON)", "fields": "Input fields (JSON)",
                        "digest": "SHA-256 of the set's records; every run on it pins this digest",
                        "hash": "Chain hash"},
        },
        "evalset_columns": {"description": f"The records of each evaluation set. {COLUMN_STORAGE}"},
        "prompts": {"description": "Prompt texts by SHA-256 (runs name them in their prompts column)."},
        "_sqlite_migrations": {"hidden": True},
    }


def metadata(ledger: Ledger, name: str) -> dict[str, Any]:
    """Datasette's metadata for the ledger served as database ``name``."""
    queries = {
        "runs_by_variant": {
            "title": "Runs by variant",
            "description": "Every run under its variant (v1, v2, ... in order of first run, as "
                           "`ledger ls --variants` numbers them); repeats of a variant are together.",
            "sql": Q.variants_sql(ledger),
        },
        "latest_decisions": {
            "title": "Latest decisions",
            "description": "Decisions, newest first: the run chosen, why, and when to revisit.",
            "sql": Q.LATEST_DECISIONS_SQL,
        },
        "tripped_triggers": {
            "title": "Tripped reversal triggers",
            "description": "Later runs whose values meet a decision's revisit condition "
                           "(as `ledger triggers` reports them).",
            "sql": Q.triggers_sql(ledger),
        },
        "comparison_cases": {
            "title": "The cases behind a comparison",
            "description": "Records that run A (the baseline) and run B answered differently: lost "
                           "(A right, B wrong) first, then gained, then changed; with inputs and outputs.",
            "sql": Q.cases_sql(),
        },
    }
    return {
        "title": f"ledger: {ledger.path.name}",
        "description": "An append-only experiment ledger, read-only. Metrics are computed from the "
                       "per-record outcomes; `ledger verify` checks the hash chain.",
        "databases": {name: {"tables": _tables(), "queries": queries}},
    }


def snapshot(path: Path, dest: Path) -> None:
    """A consistent copy of the ledger at ``path`` (write-ahead log included), upgraded to the
    current schema, in rollback-journal mode so that it opens immutable."""
    from .store import Ledger

    if not path.exists():
        raise LedgerError(f"no ledger at {path}; `ledger init` creates one")
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    target = sqlite3.connect(dest)
    try:
        source.backup(target)
    except sqlite3.DatabaseError as exc:
        raise LedgerError(f"{path} is not a usable ledger database: {exc}") from None
    finally:
        source.close()
        target.close()
    with Ledger(dest):  # applies pending migrations to the copy, never to the ledger
        pass
    conn = sqlite3.connect(dest)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
    finally:
        conn.close()


def _write(copy: Path, out: Path, name: str, title: str) -> dict[str, Any]:
    from .store import Ledger

    with Ledger(copy) as ledger:
        meta = metadata(ledger, name)
    meta["title"] = f"ledger: {title}"
    try:
        out.write_text(json.dumps(meta, indent=2, ensure_ascii=False), encoding="utf-8")
    except OSError as exc:
        raise LedgerError(f"cannot write {out}: {exc.strerror or exc}") from None
    return meta


def write_metadata(path: Path, out: Path) -> dict[str, Any]:
    """Write the metadata for ``datasette PATH -i -m OUT`` (the database named as Datasette names
    it: the file's stem)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ledger-serve-") as tmp:
        copy = Path(tmp) / "ledger.db"
        snapshot(path, copy)
        return _write(copy, out, path.stem, path.name)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def serve(path: Path, port: int, announce: Callable[[str], None]) -> None:
    """Serve a snapshot of ``path`` with Datasette on 127.0.0.1:``port`` until interrupted."""
    import signal
    import subprocess
    import sys
    import tempfile

    from .extras import require

    require("datasette")
    with tempfile.TemporaryDirectory(prefix="ledger-serve-") as tmp:
        copy = Path(tmp) / "ledger.db"
        meta_file = Path(tmp) / "metadata.json"
        snapshot(path, copy)
        _write(copy, meta_file, "ledger", path.name)
        port = port or _free_port()
        argv = [sys.executable, "-m", "datasette", "serve", "-i", str(copy), "-m", str(meta_file),
                "-h", "127.0.0.1", "-p", str(port), "--setting", "sql_time_limit_ms", "5000"]
        proc = subprocess.Popen(argv)
        # SIGTERM (a service manager, a test) stops Datasette and removes the snapshot too.
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            url = f"http://127.0.0.1:{port}/ledger"
            if _wait_ready(url, proc):
                announce(url)
            proc.wait()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            _stop(proc)
        if proc.returncode not in (0, -signal.SIGTERM, -signal.SIGINT, None):
            raise LedgerError(f"Datasette exited with status {proc.returncode}")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: Any) -> bool:
    import time
    import urllib.error
    import urllib.request

    while proc.poll() is None:
        try:
            with urllib.request.urlopen(url + ".json", timeout=5):
                return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    return False


def _stop(proc: Any) -> None:
    import subprocess

    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
