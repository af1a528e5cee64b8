"""The ledger's schema, as sqlite-utils migrations. An applied migration is never edited:
change the schema by adding a new function at the end.

``MIGRATION_NAMES`` lets :mod:`ledger.db` see whether anything is pending without importing
sqlite-utils (which imports pandas when pandas is installed: 0.35 s that ``ledger ls`` must not pay).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite_utils

MIGRATION_SET = "ledger"
MIGRATION_NAMES: tuple[str, ...] = ("m001_initial", "m002_evalsets_variants_cases")
GENESIS_HASH = "0" * 64

APPEND_ONLY = (
    "ledger is append-only: {table} rows cannot be {verb}; to correct a run, append a new run "
    "that points at it (ledger log with \"corrects\": ID)"
)


def _append_only_triggers(table: str, key_clause: str) -> list[str]:
    """Triggers that abort UPDATE, DELETE and an INSERT over an existing row (INSERT OR REPLACE
    and UPSERT fire BEFORE INSERT first, before any conflict resolution)."""
    return [
        f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
            BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY.format(table=table, verb="updated")}'); END""",
        f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
            BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY.format(table=table, verb="deleted")}'); END""",
        f"""CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table}
            WHEN EXISTS (SELECT 1 FROM {table} WHERE {key_clause})
            BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY.format(table=table, verb="replaced")}'); END""",
    ]


M001_SQL = [
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        uid TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('run', 'decision', 'analysis', 'correction')),
        created_at TEXT NOT NULL,
        experiment TEXT NOT NULL,
        parent_id INTEGER REFERENCES runs(id),
        refs TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'cancelled')),
        error TEXT,
        hypothesis TEXT NOT NULL,
        notes TEXT NOT NULL,
        caveats TEXT NOT NULL,
        params TEXT NOT NULL,
        params_diff TEXT NOT NULL,
        prompts TEXT NOT NULL,
        prompts_diff TEXT NOT NULL,
        code TEXT,
        dataset TEXT,
        sample_size INTEGER NOT NULL,
        positive_label TEXT,
        metrics TEXT NOT NULL,
        reported_metrics TEXT NOT NULL,
        precision REAL,
        recall REAL,
        f1 REAL,
        accuracy REAL,
        cost TEXT NOT NULL,
        cost_total_usd REAL,
        cost_per_record_usd REAL,
        timing TEXT NOT NULL,
        time_per_record_s REAL,
        environment TEXT NOT NULL,
        body TEXT NOT NULL,
        record_count INTEGER NOT NULL,
        records_digest TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE
    )""",
    "CREATE INDEX runs_experiment ON runs(experiment, id)",
    "CREATE INDEX runs_kind ON runs(kind, id)",
    """CREATE TABLE records (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        name TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('text', 'real')),
        data BLOB NOT NULL,
        PRIMARY KEY (run_id, name)
    ) WITHOUT ROWID""",
    """CREATE TABLE prompts (
        sha256 TEXT PRIMARY KEY,
        text TEXT NOT NULL
    ) WITHOUT ROWID""",
    # The chain: a new row must take the next id and name the current head's hash.
    f"""CREATE TRIGGER runs_chain BEFORE INSERT ON runs
        WHEN NEW.id IS NOT (SELECT COALESCE(MAX(id), 0) + 1 FROM runs)
          OR NEW.prev_hash IS NOT COALESCE(
               (SELECT hash FROM runs ORDER BY id DESC LIMIT 1), '{GENESIS_HASH}')
        BEGIN SELECT RAISE(ABORT, 'ledger chain: a new run must take the next id and name the \
current head hash as prev_hash; append through the ledger API or ledger log'); END""",
    # Records belong to the run being appended, in the same transaction: never to an older run.
    """CREATE TRIGGER records_newest_run_only BEFORE INSERT ON records
        WHEN NEW.run_id IS NOT (SELECT MAX(id) FROM runs)
        BEGIN SELECT RAISE(ABORT, 'ledger is append-only: records can only be added with their \
run, in the same append'); END""",
    # Prompt texts are content-addressed: the same text again is a no-op, never a replacement.
    """CREATE TRIGGER prompts_same_text BEFORE INSERT ON prompts
        WHEN EXISTS (SELECT 1 FROM prompts WHERE sha256 = NEW.sha256)
        BEGIN SELECT RAISE(IGNORE); END""",
    """CREATE TRIGGER prompts_no_update BEFORE UPDATE ON prompts
        BEGIN SELECT RAISE(ABORT, 'ledger is append-only: prompts rows cannot be updated'); END""",
    """CREATE TRIGGER prompts_no_delete BEFORE DELETE ON prompts
        BEGIN SELECT RAISE(ABORT, 'ledger is append-only: prompts rows cannot be deleted'); END""",
    *_append_only_triggers("runs", "id = NEW.id OR uid = NEW.uid"),
    *_append_only_triggers("records", "run_id = NEW.run_id AND name = NEW.name"),
]


def _m001_initial(db: sqlite_utils.Database) -> None:
    for statement in M001_SQL:
        db.execute(statement)


def sqlite_utils_module() -> Any:
    """``sqlite_utils``, imported without pandas unless pandas is already loaded: ``sqlite_utils.db``
    imports pandas (and with it pyarrow: about 0.4 s) only to convert pandas values on insert, which
    the ledger never does, and a new ledger's first command would pay for it."""
    import importlib
    import sys

    if "sqlite_utils.db" in sys.modules or "pandas" in sys.modules:
        return importlib.import_module("sqlite_utils")
    sys.modules["pandas"] = None  # type: ignore[assignment]  # `import pandas` raises ImportError
    try:
        return importlib.import_module("sqlite_utils")
    finally:
        if sys.modules.get("pandas", 0) is None:
            del sys.modules["pandas"]


def migrations() -> sqlite_utils.Migrations:
    """The migration set (built on demand so that importing this module stays cheap)."""
    m = sqlite_utils_module().Migrations(MIGRATION_SET)
    m(name="m001_initial")(_m001_initial)
    m(name="m002_evalsets_variants_cases")(_m002_evalsets_variants_cases)
    return m


# ---- m002: evaluation sets, variants, cases, typed record columns ------------------------------
#
# The CHECK constraints of m001 on runs.kind and records.kind cannot be altered in place, so both
# tables are rebuilt (SQLite's documented create-copy-drop-rename procedure, foreign keys off, in
# the migration's transaction) with those checks moved into triggers that a later migration can
# replace. Stored values are copied unchanged: every old run keeps its hash and records digest.

RUN_KINDS = ("run", "decision", "analysis", "correction", "push")
RECORD_KINDS = ("text", "real", "codes", "json")

_RUNS_V2 = """CREATE TABLE runs_v2 (
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    created_at TEXT NOT NULL,
    experiment TEXT NOT NULL,
    parent_id INTEGER REFERENCES runs(id),
    refs TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'cancelled')),
    error TEXT,
    hypothesis TEXT NOT NULL,
    notes TEXT NOT NULL,
    caveats TEXT NOT NULL,
    params TEXT NOT NULL,
    params_diff TEXT NOT NULL,
    prompts TEXT NOT NULL,
    prompts_diff TEXT NOT NULL,
    code TEXT,
    dataset TEXT,
    sample_size INTEGER NOT NULL,
    positive_label TEXT,
    metrics TEXT NOT NULL,
    reported_metrics TEXT NOT NULL,
    precision REAL,
    recall REAL,
    f1 REAL,
    accuracy REAL,
    cost TEXT NOT NULL,
    cost_total_usd REAL,
    cost_per_record_usd REAL,
    timing TEXT NOT NULL,
    time_per_record_s REAL,
    environment TEXT NOT NULL,
    body TEXT NOT NULL,
    record_count INTEGER NOT NULL,
    records_digest TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    variant TEXT,
    variant_name TEXT,
    evalset_id INTEGER REFERENCES evalsets(id),
    replicate TEXT
)"""

_V1_RUN_COLUMNS = (
    "id, uid, kind, created_at, experiment, parent_id, refs, status, error, hypothesis, notes, "
    "caveats, params, params_diff, prompts, prompts_diff, code, dataset, sample_size, "
    "positive_label, metrics, reported_metrics, precision, recall, f1, accuracy, cost, "
    "cost_total_usd, cost_per_record_usd, timing, time_per_record_s, environment, body, "
    "record_count, records_digest, prev_hash, hash"
)

_EVALSETS = """CREATE TABLE evalsets (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    description TEXT NOT NULL,
    source TEXT NOT NULL,
    record_count INTEGER NOT NULL,
    labels TEXT NOT NULL,
    fields TEXT NOT NULL,
    digest TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
)"""

_EVALSET_COLUMNS = """CREATE TABLE evalset_columns (
    evalset_id INTEGER NOT NULL REFERENCES evalsets(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (evalset_id, name)
) WITHOUT ROWID"""


def _kind_check(table: str, column: str, allowed: tuple[str, ...], name: str) -> str:
    values = ", ".join(f"'{v}'" for v in allowed)
    return f"""CREATE TRIGGER {name} BEFORE INSERT ON {table}
        WHEN NEW.{column} NOT IN ({values})
        BEGIN SELECT RAISE(ABORT, '{table}.{column} must be one of {", ".join(allowed)}'); END"""


def _chain_trigger(table: str, what: str) -> str:
    return f"""CREATE TRIGGER {table}_chain BEFORE INSERT ON {table}
        WHEN NEW.id IS NOT (SELECT COALESCE(MAX(id), 0) + 1 FROM {table})
          OR NEW.prev_hash IS NOT COALESCE(
               (SELECT hash FROM {table} ORDER BY id DESC LIMIT 1), '{GENESIS_HASH}')
        BEGIN SELECT RAISE(ABORT, 'ledger chain: a new {what} must take the next id and name the \
current head hash as prev_hash; append through the ledger API'); END"""


def _columns_newest_only(table: str, key: str, parent: str, what: str) -> str:
    return f"""CREATE TRIGGER {table}_newest_only BEFORE INSERT ON {table}
        WHEN NEW.{key} IS NOT (SELECT MAX(id) FROM {parent})
        BEGIN SELECT RAISE(ABORT, 'ledger is append-only: {what} can only be added with their \
row, in the same append'); END"""


M002_SQL = [
    # runs, rebuilt
    "DROP TRIGGER runs_no_update",
    "DROP TRIGGER runs_no_delete",
    "DROP TRIGGER runs_no_replace",
    "DROP TRIGGER runs_chain",
    "DROP TRIGGER records_newest_run_only",
    "DROP TRIGGER records_no_update",
    "DROP TRIGGER records_no_delete",
    "DROP TRIGGER records_no_replace",
    _EVALSETS,
    _EVALSET_COLUMNS,
    _RUNS_V2,
    f"INSERT INTO runs_v2 ({_V1_RUN_COLUMNS}) SELECT {_V1_RUN_COLUMNS} FROM runs",
    "DROP TABLE runs",
    "ALTER TABLE runs_v2 RENAME TO runs",
    "CREATE INDEX runs_experiment ON runs(experiment, id)",
    "CREATE INDEX runs_kind ON runs(kind, id)",
    "CREATE INDEX runs_variant ON runs(variant, id)",
    "CREATE INDEX runs_evalset ON runs(evalset_id, id)",
    # records, rebuilt (typed columns: integer codes with a dictionary, JSON values)
    """CREATE TABLE records_v2 (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (run_id, name)
    ) WITHOUT ROWID""",
    "INSERT INTO records_v2 (run_id, name, kind, data) SELECT run_id, name, kind, data FROM records",
    "DROP TABLE records",
    "ALTER TABLE records_v2 RENAME TO records",
    # the rules, as triggers
    _kind_check("runs", "kind", RUN_KINDS, "runs_kind"),
    _kind_check("records", "kind", RECORD_KINDS, "records_kind"),
    _kind_check("evalset_columns", "kind", RECORD_KINDS, "evalset_columns_kind"),
    _chain_trigger("runs", "run"),
    _chain_trigger("evalsets", "evaluation set"),
    """CREATE TRIGGER records_newest_run_only BEFORE INSERT ON records
        WHEN NEW.run_id IS NOT (SELECT MAX(id) FROM runs)
        BEGIN SELECT RAISE(ABORT, 'ledger is append-only: records can only be added with their \
run, in the same append'); END""",
    _columns_newest_only("evalset_columns", "evalset_id", "evalsets", "evaluation set records"),
    *_append_only_triggers("runs", "id = NEW.id OR uid = NEW.uid"),
    *_append_only_triggers("records", "run_id = NEW.run_id AND name = NEW.name"),
    *_append_only_triggers("evalsets", "id = NEW.id OR name = NEW.name"),
    *_append_only_triggers("evalset_columns", "evalset_id = NEW.evalset_id AND name = NEW.name"),
]


def _m002_evalsets_variants_cases(db: sqlite_utils.Database) -> None:
    for statement in M002_SQL:
        db.execute(statement)


def expected_triggers() -> tuple[str, ...]:
    """The names of the triggers that make the current schema append-only."""
    names = ["prompts_same_text", "prompts_no_update", "prompts_no_delete", "runs_kind",
             "records_kind", "evalset_columns_kind", "runs_chain", "evalsets_chain",
             "records_newest_run_only", "evalset_columns_newest_only"]
    for table in ("runs", "records", "evalsets", "evalset_columns"):
        names += [f"{table}_no_update", f"{table}_no_delete", f"{table}_no_replace"]
    return tuple(names)


def expected_trigger_sql() -> dict[str, str]:
    """Every trigger of the current schema with its SQL (whitespace normalised), as the
    migrations create it: ``verify`` compares the SQL, not only the names, so that a trigger
    rewritten through ``writable_schema`` (same name, ``WHEN 0``) is caught."""
    import re

    found: dict[str, str] = {}
    for statement in (*M001_SQL, *M002_SQL):
        created = re.match(r"\s*CREATE TRIGGER (\w+)", statement)
        dropped = re.match(r"\s*DROP TRIGGER (\w+)", statement)
        if created:
            found[created.group(1)] = normalise_sql(statement)
        elif dropped:
            found.pop(dropped.group(1), None)
    return found


def normalise_sql(sql: str) -> str:
    return " ".join(sql.split())
