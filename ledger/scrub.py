"""Credentials removed from a run (and an evaluation set) before it is hashed and stored.

Everything the caller gave is scrubbed (see :mod:`ledger.secrets`: by key name, by the values of
credential-like environment variables, and by shape): text fields, params, prompts, code,
dataset, cost, timing, body, replicate, metric names, record column names, record ids, labels,
predictions and strata, and the records' inputs and outputs. The run's caveats then say how many
values were replaced and where, so a reader knows the stored run is not exactly what was sent.

The common case has nothing to scrub and must stay fast (it is on every append): each text column
of the records is searched once, joined, at C speed; a column is rewritten only when that finds
something. Labels, predictions and strata are searched through their distinct values.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .secrets import REDACTED, Redactor, needs_scrub, scrub

if TYPE_CHECKING:
    from .evalsets import EvalRecords
    from .model import RunInput
    from .records import Records

_TEXT_FIELDS = ("experiment", "uid", "hypothesis", "notes", "caveats", "error", "positive_label",
                "variant", "evalset", "parent_uid")
_JSON_FIELDS = ("params", "prompts", "code", "dataset", "cost", "timing", "body", "replicate",
                "reported_metrics", "environment")


def scrub_run(run: RunInput, redactor: Redactor | None = None) -> RunInput:
    """``run`` with every credential replaced by ``[REDACTED]`` (the same object when none)."""
    redactor = redactor or Redactor()
    found: list[str] = []
    changes: dict[str, Any] = {}
    fields = [(name, getattr(run, name)) for name in (*_TEXT_FIELDS, *_JSON_FIELDS)]
    if needs_scrub([value for _, value in fields], redactor):
        for name, value in fields:
            if value is None:
                continue
            clean, n = scrub(value, redactor, "", name, found)
            if n:
                changes[name] = clean
    if run.records is not None:
        records = scrub_records(run.records, redactor, found)
        if records is not run.records:
            changes["records"] = records
    if not found:
        return run
    places = ", ".join(dict.fromkeys(found))
    note = f"[ledger: {len(found)} credential(s) replaced by {REDACTED} before storing, in: {places}]"
    changes["caveats"] = f"{changes.get('caveats', run.caveats)} {note}".strip()
    return replace(run, **changes)


def _column(values: list[Any], redactor: Redactor, where: str, found: list[str], distinct: bool) -> list[Any]:
    if distinct:  # labels, predictions, strata: a few distinct values (None: no stratum)
        present = set(values)
        present.discard(None)
        joined = "\x00".join(present)
    else:  # record ids: never None
        joined = "\x00".join(values)
    if not redactor.found_in(joined):
        return values
    clean = [None if v is None else redactor.text(v) for v in values]
    found.append(where)
    return clean


def _columns(records: Any, specs: tuple[tuple[str, str, bool], ...], redactor: Redactor,
             found: list[str]) -> dict[str, Any]:
    """The text columns (attribute, name in messages, few distinct values) that held credentials,
    cleaned."""
    changes: dict[str, Any] = {}
    for attr, name, distinct in specs:
        column = getattr(records, attr)
        if column is None:
            continue
        clean = _column(column, redactor, f"records.{name}", found, distinct)
        if clean is not column:
            changes[attr] = clean
    return changes


def scrub_records(records: Records, redactor: Redactor, found: list[str]) -> Records:
    """``records`` with credentials removed from ids, labels, predictions, strata, column names,
    inputs and outputs (the same object when there is none)."""
    changes = _columns(records, (("ids", "id", False), ("labels", "label", True),
                                 ("predictions", "prediction", True), ("strata", "stratum", True)),
                       redactor, found)
    if redactor.found_in("\x00".join(records.numeric)):
        changes["numeric"] = {redactor.text(k): v for k, v in records.numeric.items()}
        found.append("records column names")
    for attr, part in (("inputs", "input"), ("outputs", "output")):
        store = getattr(records, attr)
        clean_store, n = scrub(store, redactor, "", f"records.{part}", found)
        if n:
            changes[attr] = clean_store
    return replace(records, **changes) if changes else records


def scrub_evalset(records: EvalRecords, redactor: Redactor | None = None) -> tuple[EvalRecords, list[str]]:
    """An evaluation set's records with credentials removed, and where they were."""
    redactor = redactor or Redactor()
    found: list[str] = []
    changes = _columns(records, (("ids", "ids", False), ("labels", "labels", True), ("strata", "strata", True)),
                       redactor, found)
    for attr in ("inputs", "expected"):
        clean_store, n = scrub(getattr(records, attr), redactor, "", f"records.{attr}", found)
        if n:
            changes[attr] = clean_store
    return (replace(records, **changes) if changes else records), found
