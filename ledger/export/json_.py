"""JSON: the run documents that ``ledger log`` reads back, so that a ledger round-trips.

The file is ``{"ledger_export": {...}, "runs": [run document, ...]}`` (``ledger log`` reads a
``runs`` list). The exported pipeline runs come with the decision, analysis and correction rows
about them (all rows when the whole ledger is exported), in id order. Each document carries its
``uid``, ``parent_uid`` and ``refs_uids``, so ``ledger log`` links them to the right rows in the
target ledger even when ids differ there. A run whose parent is not exported loses that link (the
target ledger then takes the experiment's previous run as the parent, as for any appended run).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from ..columnar import to_columnar
from ..document import run_to_document
from ..model import KINDS, Run
from ..records import Records
from ..store import Ledger, VerifyReport
from .safe import Redactor


def rows_to_export(ledger: Ledger, runs: list[Run], whole_ledger: bool) -> list[Run]:
    """The exported runs plus the non-run rows whose refs are all among them, in id order."""
    ids = {r.id for r in runs}
    extra = [
        row
        for kind in KINDS if kind != "run"
        for row in ledger.runs(kind=kind)
        if whole_ledger or (row.refs and set(row.refs) <= ids)
    ]
    return sorted([*runs, *extra], key=lambda r: r.id)


def documents(ledger: Ledger, rows: list[Run], redactor: Redactor) -> Iterator[tuple[dict[str, Any], Records | None]]:
    """Each row's run document (redacted; records left out) with its records, one at a time."""
    uids = {r.id: r.uid for r in rows}
    prompt_cache: dict[str, str] = {}

    def prompt(sha: str) -> str:
        if sha not in prompt_cache:
            text = ledger.prompt_text(sha)
            prompt_cache[sha] = "" if text is None else text
        return prompt_cache[sha]

    set_names = {e.id: e.name for e in ledger.evalsets()}
    for row in rows:
        texts = {name: prompt(sha) for name, sha in row.prompts.items()}
        doc = run_to_document(row, None, texts, uids.get)
        if row.evalset_id is not None:
            doc["evalset"] = set_names[row.evalset_id]
        if row.parent_id is not None and row.parent_id not in uids:
            # The parent stays behind: its id means nothing in another ledger.
            doc["parent"] = None
            doc.pop("parent_uid", None)
        yield redactor.value(doc), (ledger.records(row.id) if row.record_count else None)


def _write_document(fh: TextIO, doc: dict[str, Any], records: Records | None, redactor: Redactor) -> None:
    """One run document on one line; its records in the columnar form, a column at a time, so
    that a run of a million records never exists as a million dicts (secret values in records
    are scrubbed in the serialized text)."""
    text = json.dumps(doc, ensure_ascii=False, allow_nan=False)
    if records is None:
        fh.write(redactor.serialized(text))
        return
    fh.write(redactor.serialized(text[:-1]) + ', "records": {')
    for i, (name, values) in enumerate(to_columnar(records).items()):
        fh.write(("" if i == 0 else ", ") + json.dumps(name) + ": ")
        fh.write(redactor.serialized(json.dumps(values, ensure_ascii=False, allow_nan=False)))
    fh.write("}}")


def evalset_documents(ledger: Ledger, rows: list[Run], redactor: Redactor) -> list[dict[str, Any]]:
    """The evaluation sets the exported runs name, whole (``ledger log`` stores them first)."""
    used = sorted({r.evalset_id for r in rows if r.evalset_id is not None})
    out = []
    for set_id in used:
        es = ledger.evalset(set_id)
        recs = ledger.evalset_records(set_id)
        rows_out = []
        for i, rid in enumerate(recs.ids):
            item: dict[str, Any] = {"id": rid, "label": recs.labels[i]}
            if recs.strata is not None and recs.strata[i] is not None:
                item["stratum"] = recs.strata[i]
            item["input"] = {k: v[i] for k, v in recs.inputs.items() if v[i] is not None}
            expected = {k: v[i] for k, v in recs.expected.items() if v[i] is not None}
            if expected:
                item["expected"] = expected
            rows_out.append(item)
        out.append(redactor.value({"name": es.name, "description": es.description, "source": es.source,
                                   "digest": es.digest}) | {"records": rows_out})
    return out


def write(
    ledger: Ledger, runs: list[Run], paths: list[Path], redactor: Redactor, *,
    experiment: str | None = None, whole_ledger: bool = False, verify: VerifyReport,
) -> None:
    rows = rows_to_export(ledger, runs, whole_ledger)
    header = {
        "format": 1,
        "generated_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": redactor.text(ledger.path.name),
        "chain_head": {"id": verify.head_id, "hash": verify.head_hash},
        "evalsets_head": {"id": verify.evalsets_head_id, "hash": verify.evalsets_head_hash},
        "verified": verify.ok,
        "verify_problems": [redactor.text(p) for p in verify.problems[:20]],
        "whole_ledger": whole_ledger,
        "runs": len(runs),
        "rows": len(rows),
    }
    # One run document per line inside the list: readable, diffable, and written by json's C
    # encoder (``indent`` would switch to the pure-Python one, several times slower).
    with paths[0].open("w", encoding="utf-8") as fh:
        fh.write('{"ledger_export": ' + redactor.serialized(json.dumps(header, ensure_ascii=False)))
        sets = evalset_documents(ledger, rows, redactor)
        if sets:  # stored first by `ledger log`, before the runs that name them
            fh.write(', "evalsets": ' + redactor.serialized(json.dumps(sets, ensure_ascii=False, allow_nan=False)))
        fh.write(', "runs": [\n')
        for i, (doc, records) in enumerate(documents(ledger, rows, redactor)):
            if i:
                fh.write(",\n")
            _write_document(fh, doc, records, redactor)
        fh.write("\n]}\n")
