"""The verdict (seed 002's ``_recommend`` on the headline, with seed 000's rules on top), and how
many records a decision would need when there is none yet.

"Significant" always means the headline permutation test printed beside the verdict has p < alpha;
no verdict rests on a confidence interval or on a test that is not shown. In order:

1. no per-record outcomes on a side                                            -> NO_DECISION
2. the headline fell by >= --min-effect, significantly                          -> ROLLBACK
3. a regression flag stands (class, stratum or stratified test, Holm)            -> REVIEW
4. a significant change, but the samples' stratum or label mix differs          -> REVIEW
5. the headline rose by >= --min-effect, significantly: cost per record not higher, or higher by
   less than --max-cost-delta -> PROMOTE; a larger cost increase                 -> REVIEW
6. B's quality is within --min-effect of A's (non-inferior: the headline's interval lies above
   -min-effect; or, paired runs that differ on fewer than 20 records, the most those records can
   move the headline, at a 97.5% Clopper-Pearson bound on their share, is below min-effect) and B
   is significantly cheaper by >= --min-cost-saving, or faster by >= --min-time-saving (Holm over
   the two)                                                                     -> PROMOTE
7. otherwise                                                                    -> NO_DECISION,
   with the records needed for the stated power and their cost
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..frozen import Frozen
from ..stats.multiplicity import holm
from .flags import GATING, fmt_p
from .numeric import Savings
from .options import CompareOptions
from .quality import BCA_MIN_DISCORDANT, ChangeBound, min_discordant
from .results import Advice, Flag, MetricDelta, RecordsNeeded, TestResult, Verdict

if TYPE_CHECKING:
    from ..stats.power import OperatingPoint


class VerdictInput(Frozen):
    metrics: dict[str, MetricDelta]
    headline: TestResult | None
    head: str
    guard: str | None
    bound: ChangeBound | None
    flags: tuple[Flag, ...]
    savings: Savings
    has_records: bool
    advise: Callable[[], Advice | None]  # computed only for a NO_DECISION that needs it


def _change(x: VerdictInput) -> str:
    f1, test = x.metrics["f1"], x.headline
    p = fmt_p(None if test is None else test.p_value)
    return f"{x.head} {f1.a:.3f} -> {f1.b:.3f} ({f1.delta:+.3f}, permutation test {p})"


def _saving(x: VerdictInput, opts: CompareOptions) -> str | None:
    """Why B counts as cheaper or faster, when a tested saving supports it."""
    cost, time = x.metrics["cost_per_record_usd"], x.metrics["time_per_record_s"]
    tests = [t for t in (x.savings.cost, x.savings.time) if t is not None and t.p_value is not None]
    adjusted = dict(zip([t.metric for t in tests], holm([t.p_value for t in tests]), strict=True))  # type: ignore[misc]
    cost_p, time_p = adjusted.get("cost_usd"), adjusted.get("latency_ms")
    if cost.delta is not None and cost.delta <= -opts.min_cost_saving and cost_p is not None and cost_p < opts.alpha:
        return f"at lower cost ({cost.delta:+.6f} USD/record, Holm {fmt_p(cost_p)})"
    if (time.a and time.b is not None and (time.a - time.b) / time.a >= opts.min_time_saving
            and time_p is not None and time_p < opts.alpha):
        return f"{100 * (time.a - time.b) / time.a:.0f}% faster per record (Holm {fmt_p(time_p)})"
    return None


def _similar(x: VerdictInput, opts: CompareOptions) -> str | None:
    """Why B's quality is within --min-effect of A's (non-inferior), if the data show it."""
    f1 = x.metrics["f1"]
    if f1.ci is not None:
        return (f"{f1.ci[0]:+.3f} is the interval's lower bound, above -{opts.min_effect}"
                if f1.ci[0] > -opts.min_effect else None)
    b = x.bound
    if b is not None and b.differ < BCA_MIN_DISCORDANT and b.limit < opts.min_effect:
        return (f"the runs differ on {b.differ} of {b.n:,} records; at most {100 * b.share:.2g}% would in a larger "
                f"sample ({100 * (1 - opts.alpha / 2):g}% Clopper-Pearson bound), which moves {x.head} by at most "
                f"{b.limit:.3f} < {opts.min_effect}")
    return None


def decide(x: VerdictInput, opts: CompareOptions) -> Verdict:
    f1, test = x.metrics["f1"], x.headline
    if f1.a is None or f1.b is None:
        return Verdict("NO_DECISION", "no quality metrics on one side: nothing to decide on")
    if not x.has_records or test is None or test.p_value is None:
        return Verdict("NO_DECISION", "no per-record outcomes: no test of the change is possible")
    d = f1.b - f1.a
    significant = test.p_value < opts.alpha
    change = _change(x)
    cost_d = x.metrics["cost_per_record_usd"].delta
    if d <= -opts.min_effect and significant:
        extra = "; B is cheaper, but a cost cut with a quality regression is not a win" if cost_d is not None and cost_d < 0 else ""
        return Verdict("ROLLBACK", f"B is worse than A: {change}{extra}", test)
    gating = [f for f in x.flags if f.is_regression and f.kind in GATING]
    if gating:
        what = gating[0].class_name or gating[0].stratum
        where = f" ({gating[0].metric} of {what!r})" if what is not None else f" ({gating[0].kind})"
        return Verdict("REVIEW", f"{len(gating)} significant regression(s) the headline does not show{where}; {change}", test)
    mix = next((f for f in x.flags if f.kind == "mix_shift"), None)
    if mix is not None and significant and abs(d) >= opts.min_effect:
        what = (mix.metric or "mix").replace("_", " ")
        return Verdict("REVIEW", f"the change is significant but the samples differ in their {what} "
                       f"(see the flags): compare on the same evaluation set; {change}", test)
    if d >= opts.min_effect and significant:
        if cost_d is None or cost_d <= 0:
            return Verdict("PROMOTE", f"better quality at same or lower cost: {change}", test)
        if cost_d < opts.max_cost_delta:
            return Verdict("PROMOTE", f"better quality, marginal cost increase (+${cost_d:.6f}/record < "
                           f"${opts.max_cost_delta}): {change}", test)
        return Verdict("REVIEW", f"better quality but higher cost (+${cost_d:.6f}/record >= ${opts.max_cost_delta}): {change}", test)
    saving = _saving(x, opts)
    similar = _similar(x, opts)
    if similar is not None and saving is not None:
        return Verdict("PROMOTE", f"similar quality ({similar}) {saving}: {change}", test)
    if not significant:
        reason = f"too little information ({x.guard})" if x.guard else "not statistically significant"
        if cost_d is not None and cost_d <= -opts.min_cost_saving:
            reason += " (B may be cheaper, but quality is not shown to stay within bounds)"
        return Verdict("NO_DECISION", f"{reason}: {change}", test, x.advise())
    return Verdict("NO_DECISION", f"no meaningful difference (|change| < {opts.min_effect}): {change}", test)


def advice(se_null: float, se: float, delta: float | None, records: int, cost_per_record: float | None,
           opts: CompareOptions, fallback: OperatingPoint | None, paired: bool,
           discordant: float | None = None) -> Advice | None:
    """Records per run needed for the observed change and for --min-effect, and the MDE now.

    Standard errors shrink as 1/sqrt(n) in the same design at the same prevalence (the formula is
    in :mod:`ledger.stats.power`). When no record differs at all (no spread), the delta-method
    formula is used at A's operating point, assuming independent errors given the label."""
    from ..stats import power as P

    if records <= 0:
        return None
    wanted = []
    if delta is not None and abs(delta) > 1e-9:
        wanted.append((abs(delta), "observed change"))
    if opts.min_effect > 0:
        wanted.append((opts.min_effect, "--min-effect"))
    needed = []
    method = ("n x ((z(1-alpha/2) SE0 + z(power) SE1) / effect)^2: SE0 the spread of the difference under "
              "permutation, SE1 its jackknife standard error (same design, same prevalence)")
    usable = se_null > 0 and math.isfinite(se_null) and math.isfinite(se)
    floor = 0
    if paired and discordant:
        fewest = min_discordant(opts.alpha)
        floor = math.ceil(records * P.discordant_floor(fewest, opts.power) / discordant)
        method += (f"; at least {floor:,} records so that {fewest} or more of them differ between the runs "
                   f"with {100 * opts.power:.0f}% probability (a permutation test needs them)")
    for effect, basis in wanted:
        n: int | None = None
        if usable:
            n = P.records_for(records, se_null, se, effect, opts.alpha, opts.power)
            n = None if n is None else max(n, floor)
        elif fallback is not None:
            try:
                n = math.ceil(P.f1_n(fallback, effect, opts.alpha, opts.power, paired))
            except ValueError:
                n = None
            method = "delta method at A's operating point, errors independent given the label (no difference observed)"
        if n is not None:
            cost = None if cost_per_record is None else n * cost_per_record
            needed.append(RecordsNeeded(effect, basis, n, max(0, n - records), cost))
    mde = P.minimum_detectable_effect(se_null, se, opts.alpha, opts.power) if usable else None
    return Advice("f1", opts.alpha, opts.power, records, se_null if usable else None, se if usable else None, mde,
                  tuple(needed), method)
