"""The runs table and the variants table: rows, the columns that fit a width, filter and sort."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .fmt import fmt_count, fmt_ratio, fmt_seconds, fmt_usd, truncate


@dataclass(frozen=True)
class RunRow:
    """One line of the runs table, as plain values."""

    id: int
    created_at: str
    experiment: str
    hypothesis: str
    n: int
    precision: float | None
    recall: float | None
    f1: float | None
    cost: float | None
    time_per_record: float | None
    status: str
    parent_id: int | None = None
    variant: str = ""  # "v3"
    variant_name: str = ""  # "03_hybrid"

    @classmethod
    def from_summary(cls, s: Mapping[str, Any], variant: tuple[str, str] = ("", "")) -> RunRow:
        ok = s["status"] == "ok"  # a failed or cancelled run's metrics describe no finished run
        return cls(
            id=int(s["id"]),
            created_at=str(s["created_at"] or ""),
            experiment=str(s["experiment"] or ""),
            hypothesis=str(s["hypothesis"] or ""),
            n=int(s["sample_size"] or 0),
            precision=s["precision"] if ok else None,
            recall=s["recall"] if ok else None,
            f1=s["f1"] if ok else None,
            cost=s["cost_per_record_usd"],
            time_per_record=s["time_per_record_s"] if ok else None,
            status=str(s["status"]),
            parent_id=s.get("parent_id"),
            variant=variant[0],
            variant_name=variant[1],
        )

    @property
    def variant_label(self) -> str:
        return f"{self.variant} {self.variant_name}".strip()

    def sort_value(self, key: str) -> Any:
        if key == "time":
            return self.created_at
        if key == "variant":
            return int(self.variant[1:]) if self.variant[1:].isdigit() else None
        return getattr(self, key)

    def haystack(self) -> str:
        return f"{self.id} {self.experiment} {self.hypothesis} {self.status} {self.variant_label}".lower()


def rows_from_summaries(summaries: Iterable[Mapping[str, Any]],
                        variant_of: Mapping[int, tuple[str, str]] | None = None) -> list[RunRow]:
    """Table rows for the ``run`` rows among ``summaries`` (decisions etc. are not listed);
    ``variant_of`` maps a run id to its variant's key and name."""
    names = variant_of or {}
    return [RunRow.from_summary(s, names.get(int(s["id"]), ("", "")))
            for s in summaries if s.get("kind", "run") == "run"]


def variant_index(variants: Iterable[Any]) -> dict[int, tuple[str, str]]:
    """run id -> (``v3``, name) from :meth:`ledger.Ledger.variants`."""
    return {run_id: (v.key, v.name or "") for v in variants for run_id in v.run_ids}


# ---- columns that fit the terminal ----------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    numeric: bool = False


MARK = Column("mark", "", 2)  # group letter (A/B), then "!" when the row carries an alert
WIDE = 120  # from this many columns on, the table shows n, status and time too
MIN_HYPOTHESIS = 12


def columns_for(width: int, rows: Sequence[RunRow]) -> tuple[Column, ...]:
    """The runs table's columns for a terminal ``width``: the numbers that matter always, the
    hypothesis with every column left over, and what only a wide terminal can afford (sample size,
    status, time, the variant's name). The experiment is shown only when the runs span several."""
    id_width = max(2, len(str(max((r.id for r in rows), default=1))))
    var_width = max(3, max((len(r.variant) for r in rows), default=0))
    wide = width >= WIDE
    cols = [MARK, Column("id", "id", id_width, numeric=True)]
    if len({r.experiment for r in rows}) > 1:
        cols.append(Column("experiment", "experiment", 10 if wide else 8))
    if wide:
        name_width = max((len(r.variant_label) for r in rows), default=0)
        cols.append(Column("variant", "variant", max(7, min(name_width, 20))))
        cols.append(Column("n", "n", 5, numeric=True))
    else:
        cols.append(Column("variant", "var", var_width))
    cols += [
        Column("precision", "P", 5, numeric=True),
        Column("recall", "R", 5, numeric=True),
        Column("f1", "F1", 5, numeric=True),
        Column("cost", "$/rec", 9, numeric=True),
        Column("time_per_record", "t/rec", 6, numeric=True),
    ]
    if wide:
        cols += [Column("status", "status", 6), Column("time", "time (UTC)", 11)]
    # DataTable pads each cell by one on both sides (the hypothesis's too); two more for the scrollbar
    used = sum(c.width + 2 for c in cols) + 2 + 2
    cols.append(Column("hypothesis", "hypothesis", max(MIN_HYPOTHESIS, width - used)))
    return tuple(cols)


STATUS_SHORT = {"cancelled": "cancel"}


def mark_cell(run_id: int, marks: Mapping[int, str], alerts: Mapping[int, str]) -> str:
    """Two characters: the compare group (A/B) the row is marked for, and ``!`` for an alert:
    a mark never hides an alert."""
    return (marks.get(run_id) or " ") + ("!" if run_id in alerts else " ")


_PLAIN: dict[str, Callable[[RunRow, int], str]] = {
    "id": lambda r, w: str(r.id),
    "experiment": lambda r, w: truncate(r.experiment, w),
    "n": lambda r, w: fmt_count(r.n),
    "precision": lambda r, w: fmt_ratio(r.precision),
    "recall": lambda r, w: fmt_ratio(r.recall),
    "f1": lambda r, w: fmt_ratio(r.f1),
    "cost": lambda r, w: fmt_usd(r.cost),
    "time_per_record": lambda r, w: fmt_seconds(r.time_per_record),
    "status": lambda r, w: STATUS_SHORT.get(r.status, r.status),
    "time": lambda r, w: r.created_at[5:16].replace("T", " "),
}


def cell(row: RunRow, column: Column, marks: Mapping[int, str], alerts: Mapping[int, str]) -> str:
    key = column.key
    if key == "mark":
        return mark_cell(row.id, marks, alerts)
    if key == "hypothesis":
        # without a status column, a run that did not finish says so where the eye goes
        prefix = f"{row.status}: " if row.status != "ok" and column.width < 40 else ""
        return truncate(prefix + row.hypothesis, column.width)
    if key == "variant":
        return truncate(row.variant_label if column.label == "variant" else row.variant, column.width)
    return _PLAIN[key](row, column.width)


def row_cells(row: RunRow, columns: Sequence[Column], marks: Mapping[int, str],
              alerts: Mapping[int, str]) -> tuple[str, ...]:
    return tuple(cell(row, c, marks, alerts) for c in columns)


# ---- filter and sort ------------------------------------------------------------------------


def filter_rows(rows: Sequence[RunRow], text: str) -> list[RunRow]:
    """Rows whose id, experiment, hypothesis, status or variant contain every word of ``text``.

    ``key:value`` words filter one field: ``status:failed``, ``exp:baseline``, ``id:>120``,
    ``var:v3`` (or a variant's name).
    """
    words = text.lower().split()
    if not words:
        return list(rows)
    tests = [_word_test(w) for w in words]
    return [r for r in rows if all(t(r) for t in tests)]


def _word_test(word: str) -> Callable[[RunRow], bool]:
    name, sep, value = word.partition(":")
    if sep and value:
        if name in ("status", "s"):
            return lambda r: r.status.lower().startswith(value)
        if name in ("exp", "experiment", "e"):
            return lambda r: value in r.experiment.lower()
        if name in ("var", "variant", "v"):
            return lambda r: r.variant.lower() == value or value in r.variant_name.lower()
        if name == "id":
            op = value[0] if value[0] in "<>" else "="
            try:
                bound = int(value.lstrip("<>="))
            except ValueError:
                return lambda r: False
            if op == ">":
                return lambda r: r.id > bound
            if op == "<":
                return lambda r: r.id < bound
            return lambda r: r.id == bound
    return lambda r: word in r.haystack()


@dataclass(frozen=True)
class SortKey:
    key: str
    letter: str
    label: str
    best_first: bool  # True: the best value first (descending for quality, ascending otherwise)
    descending: bool = False


# One key each: `o` then the letter sorts; quality sorts best first, cost and time cheapest first.
SORT_KEYS: tuple[SortKey, ...] = (
    SortKey("f1", "f", "F1, best first", True, descending=True),
    SortKey("precision", "p", "precision, best first", True, descending=True),
    SortKey("recall", "r", "recall, best first", True, descending=True),
    SortKey("cost", "c", "cost per record, cheapest first", True),
    SortKey("time_per_record", "t", "time per record, fastest first", True),
    SortKey("id", "i", "run id, newest last", False),
    SortKey("variant", "v", "variant", False),
    SortKey("n", "n", "sample size, largest first", True, descending=True),
    SortKey("experiment", "e", "experiment", False),
    SortKey("status", "s", "status", False),
    SortKey("hypothesis", "h", "hypothesis", False),
)
SORTABLE: tuple[str, ...] = (*tuple(k.key for k in SORT_KEYS), "time")


def sort_rows(rows: Sequence[RunRow], key: str, reverse: bool = False) -> list[RunRow]:
    """Rows sorted by one column; rows with no value for it go last either way."""
    if key not in SORTABLE:
        raise ValueError(f"unknown column {key!r}")
    present = [r for r in rows if r.sort_value(key) is not None]
    missing = [r for r in rows if r.sort_value(key) is None]
    present.sort(key=lambda r: (r.sort_value(key), r.id), reverse=reverse)
    return present + missing


def view_rows(rows: Sequence[RunRow], text: str, key: str, reverse: bool) -> list[RunRow]:
    return sort_rows(filter_rows(rows, text), key, reverse)


def compare_groups(marks: Mapping[int, str], cursor_id: int | None,
                   parent_of: Mapping[int, int | None]) -> tuple[list[int], list[int]] | None:
    """Which runs to compare, from the marks and the cursor.

    Marks in both groups: group A against group B. Two or more A marks and no B: the older runs
    against the newest marked run (two marks: older vs newer). One mark: that run against the
    cursor row. No marks: the cursor row against its parent. ``None`` when nothing applies.
    """
    a = sorted(i for i, g in marks.items() if g == "A")
    b = sorted(i for i, g in marks.items() if g == "B")
    if a and b:
        return a, b
    if len(a) >= 2:
        return a[:-1], a[-1:]
    if len(a) == 1:
        if cursor_id is None or cursor_id == a[0]:
            parent = parent_of.get(a[0])
            return ([parent], a) if parent else None
        first, second = sorted((a[0], cursor_id))
        return [first], [second]
    parent_id = parent_of.get(cursor_id) if cursor_id is not None else None
    if cursor_id is not None and parent_id:
        return [parent_id], [cursor_id]
    return None


# ---- variants -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantRow:
    """One line of the variants table: a variant over its successful repeats."""

    key: str
    number: int
    name: str
    experiment: str
    runs_ok: tuple[int, ...]
    runs_other: int
    n: float | None
    precision: float | None
    recall: float | None
    f1: float | None
    f1_low: float | None  # the t-interval across repeats (None: fewer than two repeats)
    f1_high: float | None
    cost: float | None
    time_per_record: float | None
    parent: str  # "v2", or "" for the first variant of an experiment

    @classmethod
    def from_summary(cls, s: Any) -> VariantRow:
        v = s.variant
        low, high = s.f1_ci if s.f1_ci is not None else (None, None)
        return cls(v.key, v.number, v.name or "", v.experiment, tuple(s.runs_ok), s.runs_other,
                   s.records_per_run, s.precision, s.recall, s.f1, low, high, s.cost_per_record_usd,
                   s.time_per_record_s, "" if v.parent is None else f"v{v.parent}")

    @property
    def label(self) -> str:
        return f"{self.key} {self.name}".strip()


VARIANT_HEADERS = ("", "variant", "runs", "P", "R", "F1 ± 95% over repeats", "$/rec", "t/rec", "from")


def variant_cells(row: VariantRow, marks: Mapping[str, str], width: int) -> tuple[str, ...]:
    """The cells of a variant row; the name gets what a ``width``-column terminal leaves."""
    runs = f"{len(row.runs_ok)}" + (f"+{row.runs_other}" if row.runs_other else "")
    f1 = fmt_ratio(row.f1)
    if row.f1 is not None and row.f1_low is not None and row.f1_high is not None:
        f1 += f" ±{(row.f1_high - row.f1_low) / 2:.3f}"
    name_width = max(10, width - 68)
    return (marks.get(row.key, " "), truncate(row.label, name_width), runs, fmt_ratio(row.precision),
            fmt_ratio(row.recall), f1, fmt_usd(row.cost), fmt_seconds(row.time_per_record),
            row.parent or "-")


def variant_compare(marks: Mapping[str, str], cursor: VariantRow | None) -> tuple[str, str] | None:
    """The two variant specs to compare: the A and B marks, two A marks (older vs newer), or the
    cursor's variant against the variant it was derived from."""
    a = sorted((k for k, g in marks.items() if g == "A"), key=lambda k: int(k[1:]))
    b = sorted((k for k, g in marks.items() if g == "B"), key=lambda k: int(k[1:]))
    if len(a) == 1 and len(b) == 1:
        return a[0], b[0]
    if len(a) == 2 and not b:
        return a[0], a[1]
    if not a and not b and cursor is not None and cursor.parent:
        return cursor.parent, cursor.key
    return None
