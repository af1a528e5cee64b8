"""``ledger plan``: how many records (and dollars) a comparison needs before a run is launched.

The formulas are :mod:`ledger.stats.power`'s, for the tests ``ledger compare`` runs: recall and
accuracy as proportions (McNemar when paired, two independent proportions otherwise), precision
over the predicted positives, and F1 by the delta method. Each is checked against a simulation of
those tests in ``tests/ledger/test_power.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .errors import UsageError
from .stats import power as P

REFERENCES = {
    "recall": ("Fleiss, Levin & Paik (2003), eq. 4.14; Connor (1987) for McNemar's test"),
    "precision": "Fleiss, Levin & Paik (2003), eq. 4.14",
    "accuracy": "Fleiss, Levin & Paik (2003), eq. 4.14; Connor (1987) for McNemar's test",
    "f1": "the delta method (Casella & Berger 2002, section 5.5.4) on F1 = 2 TP / (P + positives)",
}


@dataclass(frozen=True)
class Plan:
    """Records per run for the stated power, and what running both sides on them costs."""

    metric: str
    paired: bool
    effect: float
    alpha: float
    power: float
    prevalence: float
    baseline: float
    records_per_run: int
    counted: str  # what the test counts: "records of the class", "predictions of the class", "records"
    counted_per_run: int
    cost_usd: float | None
    method: str
    reference: str
    assumptions: tuple[str, ...]

    @property
    def total_records(self) -> int:
        """Records processed by both runs (the baseline is rerun on the same records when paired)."""
        return 2 * self.records_per_run

    def to_dict(self) -> dict[str, Any]:
        return {**{k: getattr(self, k) for k in self.__dataclass_fields__}, "assumptions": list(self.assumptions),
                "total_records": self.total_records}


def _check(name: str, value: float, low: float = 0.0, high: float = 1.0) -> None:
    if not (math.isfinite(value) and low < value < high):
        raise UsageError(f"--{name} {value:g} must be between {low:g} and {high:g} (exclusive)")


def plan(metric: str, prevalence: float, effect: float, *, paired: bool = False, alpha: float = 0.05,
         power: float = 0.80, recall: float = 0.80, precision: float = 0.80, accuracy: float = 0.90,
         discordance: float | None = None, cost_per_record: float | None = None) -> Plan:
    """Records per run to detect a change of ``effect`` in ``metric`` (see the module docstring);
    ``recall``/``precision`` are A's operating point on the class, ``accuracy`` A's accuracy."""
    if metric not in P.METRICS:
        raise UsageError(f"--metric {metric!r} must be one of {', '.join(P.METRICS)}")
    for name, value in (("prevalence", prevalence), ("alpha", alpha), ("power", power), ("recall", recall),
                        ("precision", precision), ("accuracy", accuracy)):
        _check(name, value)
    if not math.isfinite(effect) or effect == 0:
        raise UsageError(f"--effect {effect:g} must be a non-zero change of the metric, e.g. 0.05")
    if discordance is not None:
        _check("discordance", discordance)
    if cost_per_record is not None and not (math.isfinite(cost_per_record) and cost_per_record >= 0):
        raise UsageError(f"--cost-per-record {cost_per_record:g} must be a number >= 0 (USD)")
    assumptions: list[str] = []
    point = P.OperatingPoint(prevalence, recall, precision)
    try:
        counted, per_unit, baseline, n = _size(metric, point, accuracy, effect, alpha, power, paired, discordance,
                                               assumptions)
    except ValueError as exc:
        raise UsageError(f"cannot plan this change: {exc}") from None
    records = math.ceil(n / per_unit)
    cost = None if cost_per_record is None else 2 * records * cost_per_record
    method = ("McNemar's test (paired)" if paired and metric in ("recall", "accuracy") else
              "two independent proportions" if metric != "f1" else "delta method, " + ("paired" if paired else "independent"))
    return Plan(metric, paired, effect, alpha, power, prevalence, baseline, records, counted, math.ceil(n), cost,
                method, REFERENCES[metric], tuple(assumptions))


def _size(metric: str, point: P.OperatingPoint, accuracy: float, effect: float, alpha: float, power: float,
          paired: bool, discordance: float | None, assumptions: list[str]) -> tuple[str, float, float, float]:
    """(what is counted, its share of the records, A's value of the metric, how many are needed)."""
    if metric == "f1":
        if paired:
            assumptions.append("the two runs' errors are independent given the label (a paired design with "
                               "correlated errors needs fewer records)")
        assumptions.append("B's precision and recall both move by the same amount")
        return "records", 1.0, point.f1, P.f1_n(point, effect, alpha, power, paired)
    base = {"recall": point.recall, "precision": point.precision, "accuracy": accuracy}[metric]
    share = {"recall": point.prevalence, "accuracy": 1.0,
             "precision": point.prevalence * point.recall / point.precision}[metric]
    counted = {"recall": "records of the class", "precision": "predictions of the class", "accuracy": "records"}[metric]
    if not 0 < base + effect < 1:
        raise ValueError(f"{metric} {base:g} {effect:+g} is outside (0, 1)")
    if metric == "precision":
        assumptions.append(f"A predicts the class for {100 * share:.2f}% of records (prevalence x recall / precision)")
        if paired:
            assumptions.append("precision is planned as for independent runs (conservative when paired)")
        return counted, share, base, P.two_proportions_n(base, base + effect, alpha, power)
    if paired:
        if discordance is None:
            assumptions.append("the two runs' errors are independent (give --discordance, the share of "
                               f"{counted} on which the runs disagree, if you know it)")
        return counted, share, base, P.mcnemar_n(base, base + effect, alpha, power, discordance)
    return counted, share, base, P.two_proportions_n(base, base + effect, alpha, power)
