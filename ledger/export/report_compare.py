"""Each variant against the variant it was derived from, for the stakeholder report.

A comparison here is of two variants' successful repeats (on a shared evaluation set when they have
one): its verdict and flags, and for a comparison with flags the per-class and per-stratum changes
(where an imbalance story hides) and a sample of the cases B lost and gained in each flagged class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import LedgerError
from .safe import Redactor

if TYPE_CHECKING:
    from ..store import Ledger
    from ..variants import Variant

CASES_PER_SIDE = 4  # lost and gained cases shown per flagged class
MAX_CASE_GROUPS = 4  # flagged classes (then strata with a regression) with sample cases
MAX_DELTAS = 12  # classes or strata in a chart (flagged first, then the largest)
CLASS_METRICS = ("precision", "recall")
STRATUM_METRICS = ("accuracy", "recall")  # a stratum's accuracy, and the headline class's recall in it


@dataclass(frozen=True)
class Change:
    """B − A of two metrics for one class or stratum (:data:`CLASS_METRICS`, :data:`STRATUM_METRICS`)."""

    name: str
    first: float | None
    second: float | None
    flagged: bool
    size: float  # records of it on both sides (to rank the largest)


@dataclass(frozen=True)
class CaseRow:
    id: str
    label: str
    stratum: str
    a: str  # A's prediction (the most frequent over its runs, with how many were right when they differ)
    b: str
    text: str  # the record's input, when stored
    a_share: float = 0.0  # share of A's runs right on this record
    b_share: float = 0.0


@dataclass(frozen=True)
class ClassCases:
    name: str  # "class 'wrong'" or "stratum '01'"
    lost: tuple[CaseRow, ...]
    gained: tuple[CaseRow, ...]
    lost_total: int
    gained_total: int


@dataclass(frozen=True)
class VariantComparison:
    a: str  # "v4 04_reranker"
    b: str
    a_runs: tuple[int, ...]
    b_runs: tuple[int, ...]
    verdict: str
    rule: str
    flags: tuple[dict[str, Any], ...]
    classes: tuple[Change, ...] = ()
    strata: tuple[Change, ...] = ()
    cases: tuple[ClassCases, ...] = ()
    cases_note: str = ""
    error: str | None = None

    @property
    def regressions(self) -> list[dict[str, Any]]:
        return [f for f in self.flags if f.get("severity") == "regression"]

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return [f for f in self.flags if f.get("severity") != "regression"]


def _changes(rows: list[dict[str, Any]], key: str, flagged: set[str], metrics: tuple[str, str]) -> tuple[Change, ...]:
    out = []
    for r in rows:
        a, b = r["a"], r["b"]

        def delta(metric: str, a: dict[str, Any] = a, b: dict[str, Any] = b) -> float | None:
            va, vb = a.get(metric), b.get(metric)
            return None if va is None or vb is None else float(vb) - float(va)

        size = float(a.get("support", a.get("n", 0)) or 0) + float(b.get("support", b.get("n", 0)) or 0)
        out.append(Change(str(r[key]), delta(metrics[0]), delta(metrics[1]), str(r[key]) in flagged, size))
    out = [c for c in out if c.first is not None or c.second is not None]
    out.sort(key=lambda c: (not c.flagged, -c.size, c.name))
    return tuple(out[:MAX_DELTAS])


def _side_text(side: Any, redactor: Redactor) -> str:
    """A side's prediction; over repeats that disagree on the record, how many of them were right
    (the most frequent prediction alone would hide why a record counts as lost or gained)."""
    text = redactor.text(side.prediction)
    if side.runs > 1 and 0 < side.right < side.runs:
        text += f" ({side.right} of {side.runs} runs right)"
    return text


def _case_text(case: Any) -> str:
    for key in ("text", "description", "input"):
        if key in case.input:
            return str(case.input[key])
    return ""


def _samples(ledger: Ledger, a_ids: tuple[int, ...], b_ids: tuple[int, ...], flags: tuple[dict[str, Any], ...],
             redactor: Redactor) -> tuple[tuple[ClassCases, ...], str]:
    """Lost and gained cases for each class a flag names, then each stratum with a regression."""
    from ..cases import case_sides, find_cases

    groups: list[tuple[str, str]] = []
    for f in flags:
        if f.get("class") is not None:
            groups.append(("class", str(f["class"])))
    for f in flags:
        if f.get("stratum") is not None and f.get("severity") == "regression":
            groups.append(("stratum", str(f["stratum"])))
    if not groups:
        return (), ""
    a_use, b_use, note = case_sides(ledger, a_ids, b_ids)
    out = []
    for what in list(dict.fromkeys(groups))[:MAX_CASE_GROUPS]:
        filters = {"label_class": what[1]} if what[0] == "class" else {"stratum": what[1]}
        sides = []
        for which in ("lost", "gained"):
            found = find_cases(ledger, a_use, b_use, which=which, limit=CASES_PER_SIDE, **filters)
            rows = tuple(CaseRow(redactor.text(c.id), redactor.text(c.label), redactor.text(c.stratum or ""),
                                 _side_text(c.a, redactor), _side_text(c.b, redactor),
                                 redactor.text(_case_text(c)), c.a.share, c.b.share)
                         for c in found.cases)
            sides.append((rows, found.matched))
        out.append(ClassCases(f"{what[0]} {what[1]!r}", sides[0][0], sides[1][0], sides[0][1], sides[1][1]))
    return tuple(out), redactor.text(note)


def compare_variants(ledger: Ledger, parent: Variant, child: Variant, redactor: Redactor) -> VariantComparison:
    from ..compare import compare_runs
    from ..specs import resolve_pair

    try:
        sa, sb = resolve_pair(ledger, parent.key, child.key)
        c = compare_runs(ledger, list(sa.run_ids), list(sb.run_ids)).to_dict()  # the --json form
    except LedgerError as exc:  # e.g. a variant whose runs all failed: said in the report, not fatal
        return VariantComparison(parent.label, child.label, (), (), "", "", (), error=redactor.text(str(exc)))
    flags = tuple(redactor.value(dict(f)) for f in c["flags"])
    a_ids, b_ids = tuple(sa.run_ids), tuple(sb.run_ids)
    if not flags:
        return VariantComparison(parent.label, child.label, a_ids, b_ids, c["verdict"]["decision"],
                                 redactor.text(c["verdict"]["rule"]), flags)
    classes = _changes(c["per_class"], "class", {str(f["class"]) for f in flags if f.get("class") is not None},
                       CLASS_METRICS)
    strata = _changes(c["per_stratum"], "stratum", {str(f["stratum"]) for f in flags if f.get("stratum") is not None},
                      STRATUM_METRICS)
    try:
        cases, note = _samples(ledger, a_ids, b_ids, flags, redactor)
    except LedgerError as exc:  # runs that share no records have no cases to line up
        cases, note = (), redactor.text(str(exc))
    return VariantComparison(parent.label, child.label, a_ids, b_ids, c["verdict"]["decision"],
                             redactor.text(c["verdict"]["rule"]), flags,
                             tuple(Change(redactor.text(x.name), x.first, x.second, x.flagged, x.size) for x in classes),
                             tuple(Change(redactor.text(x.name), x.first, x.second, x.flagged, x.size) for x in strata),
                             cases, note)
