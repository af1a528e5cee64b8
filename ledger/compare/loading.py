"""Loading the runs of a comparison: their rows, and their records through
:func:`ledger.outcomes.load_outcomes`, recoded onto one vocabulary of classes and one of strata."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..frozen import Frozen
from ..outcomes import Outcomes, load_outcomes, recode

if TYPE_CHECKING:
    import numpy as np

    from ..model import Run
    from ..store import Ledger


class RunRecords(Frozen):
    """One run's records as codes into the comparison's shared vocabularies."""

    run: Run
    keys: np.ndarray  # record ids as keys (:mod:`ledger.outcomes`): what pairs the runs
    label: np.ndarray
    prediction: np.ndarray
    stratum: np.ndarray | None  # -1: no stratum
    numeric: Mapping[str, np.ndarray]

    def __len__(self) -> int:
        return int(self.label.size)


class Loaded(Frozen):
    runs_a: tuple[Run, ...]
    runs_b: tuple[Run, ...]
    records_a: tuple[RunRecords, ...]  # empty when a side's runs have no records
    records_b: tuple[RunRecords, ...]
    classes: tuple[str, ...]
    strata: tuple[str, ...] | None
    positive: str | None
    notes: tuple[str, ...]

    @property
    def positive_code(self) -> int | None:
        return None if self.positive is None else self.classes.index(self.positive)


def _runs(ledger: Ledger, ids: Sequence[int], which: str) -> list[Run]:
    if not ids:
        raise UsageError(f"group {which} is empty; give run ids such as 12 or 12,13,14")
    runs: list[Run] = []
    for run_id in ids:
        if any(r.id == run_id for r in runs):
            raise UsageError(f"run {run_id} is listed twice in group {which}")
        run = ledger.get(run_id)
        if run.kind != "run":
            raise UsageError(f"row {run_id} is a {run.kind}, not a run; compare runs (`ledger ls`)")
        runs.append(run)
    return runs


def load(ledger: Ledger, a_ids: Sequence[int], b_ids: Sequence[int]) -> Loaded:
    both = sorted(set(a_ids) & set(b_ids))
    if both:
        raise UsageError(f"run {both[0]} is in both groups; each run belongs to one side")
    runs_a, runs_b = _runs(ledger, a_ids, "A"), _runs(ledger, b_ids, "B")
    from ..imported import require_records

    require_records(ledger, [*a_ids, *b_ids], "compare")
    outcomes_a = [load_outcomes(ledger, r.id) for r in runs_a if r.record_count]
    outcomes_b = [load_outcomes(ledger, r.id) for r in runs_b if r.record_count]
    notes: list[str] = []
    for runs, outs, which in ((runs_a, outcomes_a, "A"), (runs_b, outcomes_b, "B")):
        if outs and len(outs) < len(runs):
            missing = [r.id for r in runs if not r.record_count]
            notes.append(f"run(s) {', '.join(map(str, missing))} of side {which} have no per-record outcomes and are left out of the record-level statistics")
    everything = [*outcomes_a, *outcomes_b]
    classes = tuple(sorted({c for o in everything for c in o.classes}))
    class_code = {c: i for i, c in enumerate(classes)}
    stratum_names = sorted({s for o in everything for s in (o.strata or ())})
    strata = tuple(stratum_names) if any(o.strata is not None for o in everything) else None
    stratum_code = {s: i for i, s in enumerate(stratum_names)}
    named = sorted({r.positive_label for r in (*runs_a, *runs_b) if r.positive_label is not None})
    positive = runs_a[0].positive_label or runs_b[0].positive_label or (named[0] if named else None)
    if len(named) > 1:
        notes.append(f"the runs name different positive labels ({', '.join(named)}); {positive!r} is the headline")
    if positive is not None and positive not in class_code and everything:
        classes = (*classes, positive)
        class_code[positive] = len(classes) - 1

    def recoded(run: Run, o: Outcomes) -> RunRecords:
        stratum = None if o.stratum is None or strata is None else recode(o.stratum, o.strata or (), stratum_code)
        return RunRecords(run, o.keys, recode(o.label, o.classes, class_code), recode(o.prediction, o.classes, class_code),
                          stratum, o.numeric)

    by_id = {r.id: r for r in (*runs_a, *runs_b)}
    return Loaded(tuple(runs_a), tuple(runs_b), tuple(recoded(by_id[o.run_id], o) for o in outcomes_a),
                  tuple(recoded(by_id[o.run_id], o) for o in outcomes_b), classes, strata, positive, tuple(notes))
