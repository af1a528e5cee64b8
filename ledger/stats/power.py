"""How many records a decision needs: sample sizes for 80% power, and the minimum detectable effect.

Two routes:

* from a comparison already run: standard errors shrink as 1/sqrt(n) in the same design at the same
  prevalence, so the records needed for power 1 - beta at two-sided alpha against an effect d are
  n * ((z_{1-alpha/2} SE0 + z_{1-beta} SE1) / d)^2, SE0 the difference's standard error when nothing
  changed (its spread under permutation) and SE1 as observed (jackknife): the two-variance form of
  Connor (1987) and Fleiss et al. (2003), which matters when one run's outcomes differ from the
  other's mostly in one direction. The minimum detectable effect of the current sample is
  z_{1-alpha/2} SE0 + z_{1-beta} SE1. Paired runs that differ on few records get a floor: enough
  records that, with the stated power, at least the handful a permutation test needs to reach
  alpha differ (their count taken as Poisson);
* before any run (``ledger plan``), from an assumed operating point:
  - a proportion (recall over the positives, precision over the predicted positives, accuracy over
    all records), independent runs: Fleiss, Levin & Paik (2003), eq. 4.14 without continuity
    correction: n = (z_a sqrt(2 pbar qbar) + z_b sqrt(p1 q1 + p2 q2))^2 / d^2 per run;
  - the same, paired runs: Connor (1987), McNemar's test: n = (z_a sqrt(psi) + z_b
    sqrt(psi - d^2))^2 / d^2, psi = the share of records on which the runs disagree (by default
    p1 q2 + p2 q1: errors independent given the label, the least favourable usual case);
  - F1 (one class): the delta method on F1 = 2 TP / (P + positives), influence 2 tp - F1 (pred +
    pos) over E[pred + pos] per record; paired runs assume errors independent given the label.

The formulas are checked against simulations of the tests ``ledger compare`` runs in
``tests/ledger/test_power.py``.
"""

from __future__ import annotations

import math

from ..frozen import Frozen
from .special import norm_ppf

METRICS = ("f1", "recall", "precision", "accuracy")


def records_for(n: int, se_null: float, se: float, effect: float, alpha: float, power: float) -> int | None:
    """Records needed (same design, same prevalence) to detect ``effect`` given the current
    sample's ``n`` records and its standard errors under no change (``se_null``) and as observed
    (``se``); ``None`` when ``se_null`` or ``effect`` is 0."""
    if se_null <= 0 or effect == 0 or n <= 0:
        return None
    spread = norm_ppf(1 - alpha / 2) * se_null + norm_ppf(power) * se
    return max(1, math.ceil(n * (spread / abs(effect)) ** 2))


def discordant_floor(needed: int, power: float) -> float:
    """The expected number of records that differ between paired runs for which at least
    ``needed`` of them differ with probability ``power`` (that count Poisson): below ``needed``
    no permutation test can reach alpha, whatever the normal approximation says."""
    lam = float(needed)
    while True:
        term = total = math.exp(-lam)
        for k in range(1, needed):
            term *= lam / k
            total += term
        if 1 - total >= power:
            return lam
        lam += 0.05


def minimum_detectable_effect(se_null: float, se: float, alpha: float, power: float) -> float:
    return norm_ppf(1 - alpha / 2) * se_null + norm_ppf(power) * se


def two_proportions_n(p1: float, p2: float, alpha: float, power: float) -> float:
    """Trials per sample to tell p1 from p2 with independent samples (Fleiss et al. 2003)."""
    d = p2 - p1
    pbar = (p1 + p2) / 2
    za, zb = norm_ppf(1 - alpha / 2), norm_ppf(power)
    return (za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / d**2


def mcnemar_n(p1: float, p2: float, alpha: float, power: float, discordance: float | None = None) -> float:
    """Pairs to tell p1 from p2 with McNemar's test (Connor 1987); ``discordance`` is the share of
    pairs that disagree (default: independent errors)."""
    d = p2 - p1
    psi = p1 * (1 - p2) + p2 * (1 - p1) if discordance is None else discordance
    if psi < d * d or psi <= 0:
        raise ValueError(f"a discordance of {psi:g} cannot carry a change of {d:g} (it must be at least |change|)")
    za, zb = norm_ppf(1 - alpha / 2), norm_ppf(power)
    return (za * math.sqrt(psi) + zb * math.sqrt(psi - d * d)) ** 2 / d**2


class OperatingPoint(Frozen):
    """One class: its prevalence, and a run's recall and precision on it."""

    prevalence: float
    recall: float
    precision: float

    @property
    def false_positive_rate(self) -> float:
        """Share of the other records predicted as the class."""
        p, r, q = self.prevalence, self.recall, self.precision
        return p * r * (1 - q) / ((1 - p) * q) if q > 0 else 1.0

    @property
    def f1(self) -> float:
        s = self.recall + self.precision
        return 2 * self.recall * self.precision / s if s else 0.0

    def influence(self) -> dict[tuple[int, int], tuple[float, float]]:
        """(label, predicted) -> (probability, F1 influence) of a record."""
        p, r, fpr, f1 = self.prevalence, self.recall, self.false_positive_rate, self.f1
        den = p * r + (1 - p) * fpr + p  # E[pred + pos]
        return {(1, 1): (p * r, (2 - 2 * f1) / den), (1, 0): (p * (1 - r), -f1 / den),
                (0, 1): ((1 - p) * fpr, -f1 / den), (0, 0): ((1 - p) * (1 - fpr), 0.0)}


def f1_variance(a: OperatingPoint, b: OperatingPoint, paired: bool) -> float:
    """n times the variance of F1_B - F1_A (errors independent given the label when paired)."""
    ia, ib = a.influence(), b.influence()
    var_a = sum(pr * v * v for pr, v in ia.values())
    var_b = sum(pr * v * v for pr, v in ib.values())
    if not paired:
        return var_a + var_b
    cov = 0.0
    for y, share in ((1, a.prevalence), (0, 1 - a.prevalence)):
        mean_a = sum(ia[(y, f)][0] * ia[(y, f)][1] for f in (0, 1)) / share
        mean_b = sum(ib[(y, f)][0] * ib[(y, f)][1] for f in (0, 1)) / share
        cov += share * mean_a * mean_b
    return var_a + var_b - 2 * cov


def shifted(point: OperatingPoint, effect: float) -> OperatingPoint:
    """The operating point whose F1 is ``effect`` higher, precision and recall moving by the same
    amount (found by bisection)."""
    target = point.f1 + effect
    if not 0 < target < 1:
        raise ValueError(f"F1 {point.f1:.3f} {effect:+g} is outside (0, 1)")
    lo, hi = -min(point.recall, point.precision), 1 - max(point.recall, point.precision)
    for _ in range(200):
        mid = (lo + hi) / 2
        if OperatingPoint(point.prevalence, point.recall + mid, point.precision + mid).f1 < target:
            lo = mid
        else:
            hi = mid
    t = (lo + hi) / 2
    return OperatingPoint(point.prevalence, point.recall + t, point.precision + t)


def f1_n(a: OperatingPoint, effect: float, alpha: float, power: float, paired: bool) -> float:
    """Records per run to detect an F1 change of ``effect`` from operating point ``a``."""
    b = shifted(a, effect)
    za, zb = norm_ppf(1 - alpha / 2), norm_ppf(power)
    v0 = f1_variance(a, a, paired)
    v1 = f1_variance(a, b, paired)
    return (za * math.sqrt(v0) + zb * math.sqrt(v1)) ** 2 / effect**2
