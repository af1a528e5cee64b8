"""Quality, cost and time by variant, with the spread of each variant's repeats.

Runs are grouped by variant (what was changed): the x axis is the variants in the order they were
first run, each with its repeats as dots and their mean, so that five configs by three seeds read
as five spreads, not as a zig-zag. When the runs shown are all of one variant, the x axis is its
runs instead. Failed and cancelled runs are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .runs import RunRow

QUANTITIES = ("f1", "precision", "recall", "cost", "time_per_record")


@dataclass(frozen=True)
class Group:
    """One x position: a variant (its repeats) or, within one variant, one run."""

    key: str  # "v3" or "run 12"
    label: str  # "v3 03_hybrid"
    run_ids: tuple[int, ...]
    values: dict[str, tuple[float, ...]]  # quantity -> one value per run that has it

    def mean(self, quantity: str) -> float | None:
        xs = self.values.get(quantity, ())
        return sum(xs) / len(xs) if xs else None

    def spread(self, quantity: str) -> tuple[float, float] | None:
        xs = self.values.get(quantity, ())
        return (min(xs), max(xs)) if xs else None


def _values(rows: Sequence[RunRow]) -> dict[str, tuple[float, ...]]:
    out: dict[str, tuple[float, ...]] = {}
    for q in QUANTITIES:
        out[q] = tuple(float(v) for r in rows if (v := getattr(r, q)) is not None and v == v)
    return out


def trend_groups(rows: Sequence[RunRow]) -> tuple[list[Group], str]:
    """The x positions for ``rows`` and what they are (``"variant"`` or ``"run"``)."""
    ok = [r for r in rows if r.status == "ok"]
    by_variant: dict[str, list[RunRow]] = {}
    for r in sorted(ok, key=lambda r: r.id):
        by_variant.setdefault(r.variant or f"run {r.id}", []).append(r)
    if len(by_variant) == 1:
        (only,) = by_variant.values()
        return [Group(f"run {r.id}", f"run {r.id}", (r.id,), _values([r])) for r in only], "run"

    def number(key: str) -> int:
        return int(key[1:]) if key[1:].isdigit() else 10**9

    groups = [Group(key, members[0].variant_label or key, tuple(r.id for r in members), _values(members))
              for key, members in sorted(by_variant.items(), key=lambda kv: number(kv[0]))]
    return groups, "variant"
