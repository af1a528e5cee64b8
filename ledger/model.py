"""What goes into the ledger (:class:`RunInput`) and what comes out (:class:`Run`).

Every row of the ledger is a :class:`Run` with a ``kind``: ``run`` for a pipeline run, and
``decision``, ``analysis`` or ``correction`` for the rows that record something about earlier runs
(they point at them through ``refs``). Nothing is ever updated or deleted: a correction is a new row.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from .records import Records

Status = Literal["ok", "failed", "cancelled"]
Kind = Literal["run", "decision", "analysis", "correction", "push"]
STATUSES: tuple[str, ...] = ("ok", "failed", "cancelled")
KINDS: tuple[str, ...] = ("run", "decision", "analysis", "correction", "push")


@dataclass
class RunInput:
    """A run as a caller hands it to :meth:`ledger.store.Ledger.append`.

    ``cost`` may hold ``total_usd``, ``input_tokens``, ``output_tokens`` (used when the records
    carry none), ``model``, ``prices`` (model -> USD per million input/output tokens) and
    ``billing`` (``"billed"`` when an API reported the usage, ``"estimated"`` when counted locally).
    ``timing`` may hold ``wall_s`` and ``stages`` (stage -> ``{"wall_s": ..., ...}``).
    ``dataset`` may hold ``name``, ``digest``, ``sample_size`` and ``seed``.
    ``code`` may hold ``commit``, ``dirty`` and ``patch_sha256``.
    ``variant`` names the variant (what was changed; see :mod:`ledger.variants`);
    ``variant_exclude`` lists parameters that are not part of it, ``variant_code`` makes the code
    version part of it. ``evalset`` names the evaluation set the records come from;
    ``replicate`` describes this repeat (e.g. ``{"index": 0, "of": 3, "seed": 7}``).
    """

    experiment: str = "default"
    hypothesis: str = ""
    notes: str = ""
    caveats: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    prompts: dict[str, str] = field(default_factory=dict)
    code: dict[str, Any] | None = None
    dataset: dict[str, Any] | None = None
    records: Records | None = None
    positive_label: str | None = None
    parent: int | None = None
    status: str = "ok"
    error: str | None = None
    cost: dict[str, Any] | None = None
    timing: dict[str, Any] | None = None
    environment: dict[str, Any] | None = None
    reported_metrics: dict[str, float] = field(default_factory=dict)
    kind: str = "run"
    refs: list[int] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)
    uid: str | None = None
    created_at: str | None = None
    variant: str | None = None
    variant_exclude: list[str] = field(default_factory=list)
    variant_code: bool = False
    evalset: str | None = None
    replicate: dict[str, Any] | None = None
    # Runs named by their client uid (resolved when the run is appended, so that a run may name
    # one appended earlier in the same batch): the parent, and refs (used when all resolve).
    parent_uid: str | None = None
    refs_uids: list[str] = field(default_factory=list)


_HEX64 = re.compile(r"[0-9a-f]{64}")


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


@dataclass(frozen=True)
class Run:
    """One stored ledger row (records are loaded separately: :meth:`Ledger.records`)."""

    id: int
    uid: str
    kind: str
    created_at: str
    experiment: str
    parent_id: int | None
    refs: list[int]
    status: str
    error: str | None
    hypothesis: str
    notes: str
    caveats: str
    params: dict[str, Any]
    params_diff: dict[str, Any]
    prompts: dict[str, str]
    prompts_diff: dict[str, Any]
    code: dict[str, Any] | None
    dataset: dict[str, Any] | None
    sample_size: int
    positive_label: str | None
    metrics: dict[str, Any]
    reported_metrics: dict[str, float]
    precision: float | None
    recall: float | None
    f1: float | None
    accuracy: float | None
    cost: dict[str, Any]
    cost_total_usd: float | None
    cost_per_record_usd: float | None
    timing: dict[str, Any]
    time_per_record_s: float | None
    environment: dict[str, Any]
    body: dict[str, Any]
    record_count: int
    records_digest: str | None
    prev_hash: str
    hash: str
    variant: str | None = None
    variant_name: str | None = None
    evalset_id: int | None = None
    replicate: dict[str, Any] | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Run:
        try:
            for column in ("hash", "prev_hash"):
                if not _HEX64.fullmatch(str(row[column])):
                    raise ValueError(f"its {column} is not 64 hex digits")
            return cls._from_row(row)
        except (ValueError, TypeError, KeyError) as exc:  # json.JSONDecodeError is a ValueError
            from .errors import IntegrityFailure

            raise IntegrityFailure(
                f"row {row.get('id')} cannot be read ({type(exc).__name__}: {str(exc)[:80]}): the ledger file is "
                "damaged; `ledger verify` names the first damaged row, and a backup or an export restores it"
            ) from None

    @classmethod
    def _from_row(cls, row: dict[str, Any]) -> Run:
        variant, variant_name = row.get("variant"), row.get("variant_name")
        params = _loads(row["params"]) or {}
        prompts = _loads(row["prompts"]) or {}
        if variant is None and row["kind"] == "run":
            # a run appended before variants existed: its variant is derived the same way
            from .variants import fingerprint, legacy_name

            variant = fingerprint(row["experiment"], params, prompts, legacy=True)
            variant_name = legacy_name(row["notes"] or "")
        return cls(
            id=row["id"],
            uid=row["uid"],
            kind=row["kind"],
            created_at=row["created_at"],
            experiment=row["experiment"],
            parent_id=row["parent_id"],
            refs=_loads(row["refs"]) or [],
            status=row["status"],
            error=row["error"],
            hypothesis=row["hypothesis"] or "",
            notes=row["notes"] or "",
            caveats=row["caveats"] or "",
            params=params,
            params_diff=_loads(row["params_diff"]) or {},
            prompts=prompts,
            prompts_diff=_loads(row["prompts_diff"]) or {},
            code=_loads(row["code"]),
            dataset=_loads(row["dataset"]),
            sample_size=row["sample_size"],
            positive_label=row["positive_label"],
            metrics=_loads(row["metrics"]) or {},
            reported_metrics=_loads(row["reported_metrics"]) or {},
            precision=row["precision"],
            recall=row["recall"],
            f1=row["f1"],
            accuracy=row["accuracy"],
            cost=_loads(row["cost"]) or {},
            cost_total_usd=row["cost_total_usd"],
            cost_per_record_usd=row["cost_per_record_usd"],
            timing=_loads(row["timing"]) or {},
            time_per_record_s=row["time_per_record_s"],
            environment=_loads(row["environment"]) or {},
            body=_loads(row["body"]) or {},
            record_count=row["record_count"],
            records_digest=row["records_digest"],
            prev_hash=row["prev_hash"],
            hash=row["hash"],
            variant=variant,
            variant_name=variant_name,
            evalset_id=row.get("evalset_id"),
            replicate=_loads(row.get("replicate")),
        )

    def summary(self) -> dict[str, Any]:
        """The columns of ``ledger ls``."""
        return {
            "id": self.id,
            "kind": self.kind,
            "created_at": self.created_at,
            "experiment": self.experiment,
            "hypothesis": self.hypothesis,
            "sample_size": self.sample_size,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "cost_per_record_usd": self.cost_per_record_usd,
            "time_per_record_s": self.time_per_record_s,
            "status": self.status,
        }

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


# Columns of the runs table in hashing order (everything but ``hash``): the format-1 columns, hashed
# always, then the columns migration m002 added, hashed when they hold a value (so every row
# appended before them keeps its hash).
RUN_COLUMNS: tuple[str, ...] = (
    "id", "uid", "kind", "created_at", "experiment", "parent_id", "refs", "status", "error",
    "hypothesis", "notes", "caveats", "params", "params_diff", "prompts", "prompts_diff", "code",
    "dataset", "sample_size", "positive_label", "metrics", "reported_metrics", "precision",
    "recall", "f1", "accuracy", "cost", "cost_total_usd", "cost_per_record_usd", "timing",
    "time_per_record_s", "environment", "body", "record_count", "records_digest", "prev_hash",
)
RUN_COLUMNS_V2: tuple[str, ...] = ("variant", "variant_name", "evalset_id", "replicate")
STORED_COLUMNS: tuple[str, ...] = (*RUN_COLUMNS, *RUN_COLUMNS_V2, "hash")
