"""Messages that workers post to screens: plain data only (no Run objects, no connections)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

from .views.compare import ComparisonView
from .views.detail import RunDetail
from .views.runs import RunRow, VariantRow


@dataclass
class RunsLoaded(Message, bubble=False):
    """The first full read of the ledger (or a reload)."""

    rows: list[RunRow]
    head_id: int | None


@dataclass
class RunsAppended(Message, bubble=False):
    """Rows appended by anyone since ``head_id`` was last seen."""

    rows: list[RunRow]
    head_id: int | None


@dataclass
class VariantsLoaded(Message, bubble=False):
    rows: list[VariantRow]


@dataclass
class AlertsLoaded(Message, bubble=False):
    """Runs that carry a regression flag or trip a decision's reversal trigger: id -> why."""

    alerts: dict[int, str]
    trips: list[str] = field(default_factory=list)


@dataclass
class NewRunsChecked(Message, bubble=False):
    """New runs compared with their parents: those with a regression flag -> why."""

    alerts: dict[int, str]


@dataclass
class DetailLoaded(Message, bubble=False):
    detail: RunDetail


@dataclass
class ComparisonLoaded(Message, bubble=False):
    view: ComparisonView
    text: str
    specs: tuple[str, str]
    volume: int | None
    record: Any = None  # what ``record_comparison`` stores


@dataclass
class ComparisonRecorded(Message, bubble=False):
    analysis_id: int


@dataclass
class CasesLoaded(Message, bubble=False):
    title: str
    summary: str
    rows: list[tuple[str, ...]]
    details: list[str]


@dataclass
class SweepLoaded(Message, bubble=False):
    run_id: int
    score: str
    scores: list[str]
    points: list[Any]
    average_precision: float | None
    recommended_index: int | None
    operating_index: int | None
    fp_cost: float
    fn_cost: float
    reason: str


@dataclass
class SweepRecorded(Message, bubble=False):
    analysis_id: int


@dataclass
class LaunchProgress(Message, bubble=False):
    done: int
    total: int
    message: str


@dataclass
class LaunchFinished(Message, bubble=False):
    run_ids: list[int]
    status: str
    error: str | None = None
    headline: list[str] = field(default_factory=list)  # one line per run appended
    parent_id: int | None = None


@dataclass
class DecisionRecorded(Message, bubble=False):
    decision_id: int
    target: str


@dataclass
class ExportFinished(Message, bubble=False):
    path: str


@dataclass
class WorkFailed(Message, bubble=False):
    """A worker raised: shown where the user is looking, never fatal."""

    what: str
    error: str
