"""Cases: the records behind a number. Which records did B lose that A got right, with their
input and both sides' outputs?

Two runs (or two groups of repeats) are lined up record by record on the ids they share. For a
record, each side's correctness is the share of its runs that got it right (1/1 or 0/1 for a
single run): a record is **lost** when A got it right more often than B, **gained** when B did,
and the two sides **disagree** on it when either those shares or any prediction differ.
The input is the evaluation set's (or the run's own, when it stored one); the outputs are each
side's newest run's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import UsageError
from .render import a_or_an

if TYPE_CHECKING:
    from .records import Records
    from .store import Ledger

WHICH = ("disagree", "lost", "gained")


@dataclass(frozen=True)
class CaseSide:
    """One side's view of a record: its predictions (one per run) and how many were right."""

    predictions: tuple[str, ...]
    right: int
    output: dict[str, Any]

    @property
    def runs(self) -> int:
        return len(self.predictions)

    @property
    def share(self) -> float:
        return self.right / self.runs if self.runs else 0.0

    @property
    def prediction(self) -> str:
        """The most frequent prediction (the newest run's on a tie)."""
        counts: dict[str, int] = {}
        for p in self.predictions:
            counts[p] = counts.get(p, 0) + 1
        best = max(counts.values())
        return next(p for p in reversed(self.predictions) if counts[p] == best)

    def to_dict(self) -> dict[str, Any]:
        return {"prediction": self.prediction, "predictions": list(self.predictions),
                "right": self.right, "runs": self.runs, "output": self.output}


@dataclass(frozen=True)
class Case:
    id: str
    label: str
    stratum: str | None
    input: dict[str, Any]
    a: CaseSide
    b: CaseSide

    @property
    def kind(self) -> str:
        if self.a.share > self.b.share:
            return "lost"
        if self.b.share > self.a.share:
            return "gained"
        return "changed" if set(self.a.predictions) != set(self.b.predictions) else "same"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "stratum": self.stratum, "kind": self.kind,
                "input": self.input, "a": self.a.to_dict(), "b": self.b.to_dict()}


@dataclass(frozen=True)
class CaseList:
    """The cases that matched, with the counts a reader needs to trust the sample."""

    a_runs: tuple[int, ...]
    b_runs: tuple[int, ...]
    shared: int
    counts: dict[str, int]  # lost / gained / changed among all shared records
    matched: int  # cases that met the filters (before --limit)
    cases: tuple[Case, ...]
    filters: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"runs": {"a": list(self.a_runs), "b": list(self.b_runs)}, "shared_records": self.shared,
                "counts": self.counts, "matched": self.matched, "filters": self.filters,
                "cases": [c.to_dict() for c in self.cases]}


@dataclass(frozen=True)
class CaseFilter:
    """Which cases lie behind something a comparison flagged."""

    which: str = "lost"
    label_class: str | None = None
    stratum: str | None = None
    predicted: str | None = None  # a class B predicted (where its precision fell)


def filter_for_flag(class_name: Any, stratum: Any, metric: Any, which: str = "disagree") -> CaseFilter:
    """The cases behind a flag about ``class_name`` or ``stratum`` and ``metric``: for a class whose
    precision fell, the records B put into it (right or wrong); for a class whose recall fell, the
    records of it that B lost; for a stratum, the records B lost in it; otherwise every lost one."""
    if class_name is not None:
        if metric == "precision":
            return CaseFilter("disagree", predicted=str(class_name))
        return CaseFilter("lost", label_class=str(class_name))
    if stratum is not None:
        return CaseFilter("lost", stratum=str(stratum))
    return CaseFilter("lost" if which == "disagree" else which)


def case_sides(ledger: Ledger, a_ids: Sequence[int], b_ids: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    """The runs to line cases up on. Groups whose runs all share their records are used whole;
    repeats drawn on different samples share almost none, so then the newest pair of runs (one per
    side) that shares the most records stands in, and the note says so."""
    from .columns import unpack_strings

    ids: dict[int, set[str]] = {}
    for run_id in (*a_ids, *b_ids):
        cols = ledger.record_columns(run_id, ["id"])
        ids[run_id] = set(unpack_strings(cols[0][1], cols[0][2])) if cols else set()
    everyone = set.intersection(*(ids[r] for r in (*a_ids, *b_ids)))
    smallest = min(len(ids[r]) for r in (*a_ids, *b_ids))
    if (len(a_ids) == 1 and len(b_ids) == 1) or (smallest and len(everyone) >= smallest / 2):
        return tuple(a_ids), tuple(b_ids), ""
    a, b = max(((a, b) for a in a_ids for b in b_ids), key=lambda p: (len(ids[p[0]] & ids[p[1]]), p[1], p[0]))
    return (a,), (b,), (f"the repeats were drawn on different records: cases of run {a} against run {b}, "
                        f"the newest pair that shares its records ({len(ids[a] & ids[b]):,})")


def _inputs(ledger: Ledger, run_id: int, records: Records) -> dict[str, list[Any]]:
    """The run's inputs by field, aligned with its records: the set's, overridden by the run's own."""
    run = ledger.get(run_id)
    out: dict[str, list[Any]] = {}
    if run.evalset_id is not None:
        rows = ledger.evalset_records(run.evalset_id)
        position = {rid: i for i, rid in enumerate(rows.ids)}
        for name, values in rows.inputs.items():
            out[name] = [values[position[rid]] if rid in position else None for rid in records.ids]
    out.update(records.inputs)
    return out


def find_cases(
    ledger: Ledger,
    a_ids: Sequence[int],
    b_ids: Sequence[int],
    *,
    which: str = "disagree",
    label_class: str | None = None,
    stratum: str | None = None,
    predicted: str | None = None,
    limit: int | None = None,
) -> CaseList:
    """The records where A and B disagree (or only those lost or gained), filtered by class
    (true label or either prediction), stratum, or a class that B predicted, newest ids first."""
    if which not in WHICH:
        raise UsageError(f"unknown case filter {which!r}; use one of {', '.join(WHICH)}")
    if limit is not None and limit < 1:
        raise UsageError("--limit must be at least 1")
    if not a_ids or not b_ids:
        raise UsageError("give a run (or a group of runs) on each side")
    if set(a_ids) & set(b_ids):
        raise UsageError(f"run {sorted(set(a_ids) & set(b_ids))[0]} is on both sides")
    from .imported import require_records

    require_records(ledger, [*a_ids, *b_ids], "cases")
    sides = []
    for ids in (a_ids, b_ids):
        loaded = []
        for run_id in ids:
            run = ledger.get(run_id)
            if run.kind != "run":
                raise UsageError(f"row {run_id} is {a_or_an(run.kind)}, not a run; cases come from runs")
            loaded.append(ledger.records(run_id))
        sides.append(loaded)
    a_recs, b_recs = sides
    shared_ids = set(a_recs[0].ids)
    for recs in (*a_recs[1:], *b_recs):
        shared_ids &= set(recs.ids)
    if not shared_ids:
        raise UsageError("the two sides share no record ids: there are no cases to line up "
                         "(runs on one evaluation set share them)")
    order = [rid for rid in a_recs[0].ids if rid in shared_ids]
    first = a_recs[0]
    pos_first = {rid: i for i, rid in enumerate(first.ids)}
    a_index = [{rid: i for i, rid in enumerate(r.ids)} for r in a_recs]
    b_index = [{rid: i for i, rid in enumerate(r.ids)} for r in b_recs]
    inputs = _inputs(ledger, a_ids[-1], a_recs[-1])
    pos_inputs = a_index[-1]

    def side(recs_list: list[Records], index: list[dict[str, int]], rid: str) -> CaseSide:
        preds: list[str] = []
        right = 0
        for recs, where in zip(recs_list, index, strict=True):
            i = where[rid]
            preds.append(recs.predictions[i])
            right += recs.predictions[i] == recs.labels[i]
        newest, j = recs_list[-1], index[-1][rid]
        output = {k: v[j] for k, v in newest.outputs.items() if v[j] is not None}
        return CaseSide(tuple(preds), right, output)

    counts = {"lost": 0, "gained": 0, "changed": 0}
    matched: list[Case] = []
    for rid in order:
        i = pos_first[rid]
        label = first.labels[i]
        st = first.strata[i] if first.strata is not None else None
        ca, cb = side(a_recs, a_index, rid), side(b_recs, b_index, rid)
        k = pos_inputs.get(rid)
        case = Case(rid, label, st, {} if k is None else {n: v[k] for n, v in inputs.items() if v[k] is not None}, ca, cb)
        kind = case.kind
        if kind in counts:
            counts[kind] += 1
        if kind == "same" or (which != "disagree" and kind != which):
            continue
        if label_class is not None and label_class != label and label_class not in ca.predictions \
                and label_class not in cb.predictions:
            continue
        if predicted is not None and predicted not in cb.predictions:
            continue
        if stratum is not None and st != stratum:
            continue
        matched.append(case)
    shown = tuple(matched[:limit] if limit else matched)
    filters = {"which": which, "class": label_class, "stratum": stratum, "predicted_by_b": predicted,
               "limit": limit}
    return CaseList(tuple(a_ids), tuple(b_ids), len(order), counts, len(matched), shown, filters)
