"""The ledger's schema, as sqlite-utils migrations. An applied migration is never edited:
change the schema by adding a new function at the end.

``MIGRATION_NAMES`` lets :mod:`ledger.db` see whether anything is pending without importing
sqlite-utils (which imports pandas when pandas is installed: 0.35 s that ``ledger ls`` must not pay).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

MIGRATION_SET = "ledger"
MIGRATION_NAMES: tuple[str, ...] = ("m001_initial",)
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


def migrations() -> sqlite_utils.Migrations:
    """The migration set (built on demand so that importing this module stays cheap)."""
    import sqlite_utils

    m = sqlite_utils.Migrations(MIGRATION_SET)
    m(name="m001_initial")(_m001_initial)
    return m
