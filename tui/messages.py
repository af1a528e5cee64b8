"""Messages that workers post to screens: plain data only (no Run objects, no connections)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

from .data import ComparisonView, RunDetail, RunRow


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
class AlertsLoaded(Message, bubble=False):
    """Runs that carry a compare flag or trip a decision's reversal trigger: id -> why."""

    alerts: dict[int, str]
    trips: list[str] = field(default_factory=list)


@dataclass
class NewRunsChecked(Message, bubble=False):
    """New runs compared with their parents: those with a regression flag -> why."""

    alerts: dict[int, str]


@dataclass
class ComparisonRecorded(Message, bubble=False):
    analysis_id: int


@dataclass
class DetailLoaded(Message, bubble=False):
    detail: RunDetail


@dataclass
class ComparisonLoaded(Message, bubble=False):
    view: ComparisonView
    text: str
    a_ids: list[int]
    b_ids: list[int]
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class SweepLoaded(Message, bubble=False):
    run_id: int
    score: str
    scores: list[str]
    points: list[Any]
    average_precision: float | None
    recommended_index: int | None


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


@dataclass
class DecisionRecorded(Message, bubble=False):
    decision_id: int
    run_id: int


@dataclass
class ExportFinished(Message, bubble=False):
    path: str


@dataclass
class WorkFailed(Message, bubble=False):
    """A worker's ledger call raised a domain error: shown, never swallowed."""

    what: str
    error: str
