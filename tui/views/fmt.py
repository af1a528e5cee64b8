"""Numbers for people: one format per kind of quantity, the same on every screen.

Ratios (precision, recall, F1, accuracy) always have three decimals; money is in dollars with as
many decimals as its size needs; times carry their unit; counts have thousands separators; deltas
carry a sign and the unit of what they are a delta of.
"""

from __future__ import annotations

import math
from typing import Any

from ledger.render import fmt_ratio, fmt_seconds, fmt_usd, truncate

__all__ = ["fmt_count", "fmt_delta", "fmt_p", "fmt_quantity", "fmt_ratio", "fmt_seconds", "fmt_usd",
           "kind_of", "missing", "truncate"]


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def fmt_count(value: Any) -> str:
    """``24640`` -> ``24,640``; a mean count over repeats keeps one decimal."""
    if missing(value):
        return "-"
    number = float(value)
    return f"{number:,.0f}" if number == round(number) else f"{number:,.1f}"


def fmt_p(value: float | None) -> str:
    if missing(value):
        return "-"
    assert value is not None
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def kind_of(metric: str) -> str:
    """What kind of quantity a metric name is: ``usd``, ``seconds``, ``count`` or ``ratio``."""
    name = metric.lower()
    if "usd" in name or name.startswith("cost") or name.endswith("$/rec"):
        return "usd"
    if name.endswith("_s") or "latency" in name or name.startswith("time"):
        return "seconds" if not name.endswith("_ms") else "ms"
    if "tokens" in name or name in ("n", "support", "predicted", "sample_size"):
        return "count"
    return "ratio"


def fmt_quantity(value: Any, kind: str) -> str:
    if missing(value):
        return "-"
    if kind == "usd":
        return fmt_usd(float(value))
    if kind == "seconds":
        return fmt_seconds(float(value))
    if kind == "ms":
        return fmt_seconds(float(value) / 1000.0)
    if kind == "count":
        return fmt_count(value)
    if kind == "plain":
        return f"{float(value):.3g}"
    return fmt_ratio(float(value))


def fmt_delta(value: Any, kind: str = "ratio") -> str:
    """A signed change in the unit of its quantity: ``+0.042``, ``-$0.000012``, ``+1.2ms``."""
    if missing(value):
        return "-"
    number = float(value)
    sign = "+" if number >= 0 else "-"
    if kind == "ratio":
        return f"{number:+.3f}"
    if kind == "count":
        return f"{sign}{fmt_count(abs(number))}"
    return sign + fmt_quantity(abs(number), kind)
