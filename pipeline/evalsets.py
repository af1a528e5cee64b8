"""The audit task's records as a ledger evaluation set, and back.

A declaration becomes an evaluation record with ``label`` ``wrong`` (its declared code is not its
true code) or ``ok``, ``stratum`` the declared code's HS chapter, ``input`` the declaration's text
and declared code, and ``expected`` the true code (what a flagged record's proposal is scored on).
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.evalsets import EvalRecords

from .data import Record

POSITIVE = "wrong"


def to_eval_records(records: Sequence[Record]) -> EvalRecords:
    return EvalRecords.checked(
        [r.id for r in records],
        [POSITIVE if r.wrong else "ok" for r in records],
        [r.declared[:2] for r in records],
        {"text": [r.text for r in records], "declared_code": [r.declared for r in records]},
        {"true_code": [r.truth for r in records]},
    )


def from_eval_records(rows: EvalRecords) -> list[Record]:
    """The declarations of an evaluation set made from audit records (any set with the input fields
    ``text`` and ``declared_code`` and the expected field ``true_code``)."""
    from ledger.errors import LedgerError

    missing = [f"input.{k}" for k in ("text", "declared_code") if k not in rows.inputs]
    missing += [] if "true_code" in rows.expected else ["expected.true_code"]
    if missing:
        raise LedgerError(
            f"this evaluation set has no {', '.join(missing)}: the audit pipeline reads declarations "
            "(text, declared code) and scores them on the true code"
        )
    text, declared, truth = rows.inputs["text"], rows.inputs["declared_code"], rows.expected["true_code"]
    return [Record(rid, str(t), str(d), str(c)) for rid, t, d, c in zip(rows.ids, text, declared, truth, strict=True)]
