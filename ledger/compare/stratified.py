"""Independent samples with strata: the headline class tested within strata, and their mix.

When A and B are different samples, an aggregate change can be a change of mix (more records from
an easy stratum) rather than of the system: recall may fall in every stratum and rise overall
(Simpson's paradox). The Cochran-Mantel-Haenszel test compares the runs within strata, and a
chi-square test of homogeneity says whether the stratum or label mix differs between the samples.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..stats.stratified import Stratum2x2, cmh_test, homogeneity_test
from .pairing import Matched
from .results import TestResult

if TYPE_CHECKING:
    import numpy as np

CMH_REF = "Mantel & Haenszel (1959); Mehta, Patel & Gray (1985); Greenland & Robins (1985)"


def _per_stratum(values: np.ndarray, strata: np.ndarray, n_strata: int) -> np.ndarray:
    import numpy as np

    return np.bincount(strata[(strata >= 0) & values], minlength=n_strata)


def stratified_tests(m: Matched, positive: int, n_strata: int) -> dict[str, TestResult]:
    """The CMH tests of the positive class's recall and precision (single runs, independent)."""
    out: dict[str, TestResult] = {}
    sides = []
    for s in (m.a, m.b):
        assert s.stratum is not None
        label, pred = s.label[:, 0], s.prediction[:, 0]
        t, q = label == positive, pred == positive
        sides.append({"tp": _per_stratum(t & q, s.stratum, n_strata), "pos": _per_stratum(t, s.stratum, n_strata),
                      "pred": _per_stratum(q, s.stratum, n_strata)})
    a, b = sides
    for metric, den in (("recall", "pos"), ("precision", "pred")):
        tables = [Stratum2x2(int(a["tp"][st]), int(a[den][st]), int(b["tp"][st]), int(b[den][st]))
                  for st in range(n_strata)]
        r = cmh_test(tables)
        how = "exact conditional test" if r.method == "exact" else "chi-square, 1 df, no continuity correction"
        out[f"stratified:{metric}"] = TestResult(
            "cmh", metric, r.statistic, r.p_value,
            f"Cochran-Mantel-Haenszel test within {r.strata} strata ({how}); estimate = Mantel-Haenszel "
            "common difference B - A", CMH_REF, df=1.0, estimate=r.risk_difference,
            extra={"strata": r.strata, "observed": r.observed, "expected": r.expected, "cmh_method": r.method})
    return out


def mix_tests(m: Matched, n_classes: int, n_strata: int) -> tuple[TestResult, ...]:
    """Chi-square tests of homogeneity of the stratum mix and the label mix between the samples."""
    import numpy as np

    out = []
    pairs = [("label_mix", m.a.first_label, m.b.first_label, n_classes)]
    if n_strata and m.a.stratum is not None and m.b.stratum is not None:
        pairs.insert(0, ("stratum_mix", m.a.stratum, m.b.stratum, n_strata))
    for metric, xa, xb, size in pairs:
        ca = np.bincount(xa[xa >= 0], minlength=size)
        cb = np.bincount(xb[xb >= 0], minlength=size)
        r = homogeneity_test(ca.tolist(), cb.tolist())
        out.append(TestResult("chi_square_homogeneity", metric, r.statistic, r.p_value,
                              f"Pearson's chi-square test of homogeneity over {r.categories} categories",
                              "Pearson (1900); Agresti (2002), section 3.2", df=float(r.df),
                              estimate=r.total_variation, extra={"total_variation": r.total_variation}))
    return tuple(out)
