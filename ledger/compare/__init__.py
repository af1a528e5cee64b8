"""Compare two runs (or two groups of repeat runs) like a statistician.

:func:`compare_runs` reads the runs (:mod:`.loading`), matches their records (:mod:`.pairing`),
groups them into cells (:mod:`.design`), then computes the quality metrics and the headline test
(:mod:`.quality`), the per-class and per-stratum tables (:mod:`.breakdown`, :mod:`.stratified`),
the tests on per-record numbers (:mod:`.numeric`), the flags (:mod:`.flags`) and the verdict
(:mod:`.verdict`). It returns a :class:`Comparison` of frozen dataclasses; ``to_dict()`` is the
``--json`` schema (``docs/compare.md``) and ``render_text()`` what ``ledger compare`` prints
(:mod:`.text`). The statistics and their references are in ``docs/statistics.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .loading import Loaded, load
from .options import CompareOptions
from .results import (
    DECISIONS,
    Advice,
    ClassRow,
    Comparison,
    Flag,
    MetricDelta,
    Pairing,
    StratumRow,
    TestResult,
    Verdict,
)

if TYPE_CHECKING:
    from ..model import Run
    from ..store import Ledger

__all__ = [
    "DECISIONS", "Advice", "ClassRow", "CompareOptions", "Comparison", "Flag", "MetricDelta", "Pairing",
    "StratumRow", "TestResult", "Verdict", "analyse", "compare_runs", "record_comparison",
]


def compare_runs(ledger: Ledger, a_ids: Sequence[int], b_ids: Sequence[int],
                 options: CompareOptions | None = None) -> Comparison:
    """Compare runs ``a_ids`` (the baseline) with ``b_ids`` (the candidate)."""
    opts = options or CompareOptions()
    opts.validate()
    return analyse(load(ledger, a_ids, b_ids), opts)


def analyse(loaded: Loaded, opts: CompareOptions) -> Comparison:
    """The comparison of already loaded runs (what :func:`compare_runs` does after reading)."""
    from .analysis import run

    return run(loaded, opts)


def record_comparison(ledger: Ledger, comparison: Comparison | dict[str, Any]) -> Run:
    """Store a comparison's verdict, flags and metrics as an analysis row pointing at both sides.

    Takes the :class:`Comparison` or its ``to_dict()`` (what the TUI holds)."""
    from ..model import RunInput

    d = comparison.to_dict() if isinstance(comparison, Comparison) else comparison
    a, b = list(d["runs"]["a"]), list(d["runs"]["b"])
    body = {"type": "compare", "a": a, "b": b, "verdict": d["verdict"], "flags": d["flags"],
            "metrics": d["metrics"], "paired": d.get("paired"), "options": d.get("options")}
    return ledger.append(RunInput(
        kind="analysis", experiment=ledger.get(b[0]).experiment, refs=[*a, *b],
        body=body, hypothesis=f"compare {a} with {b}: {d['verdict']['decision']}",
    ))
