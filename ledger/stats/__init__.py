"""Statistics for comparing runs: pure functions, no database, no printing, no scipy import.

* :mod:`.special`: t, normal and chi-square distributions written out with :mod:`math`;
* :mod:`.means`: Welch, paired t and Wilcoxon signed-rank tests on per-record numbers;
* :mod:`.proportions`: exact McNemar, Fisher's exact test, Wilson and Newcombe intervals;
* :mod:`.stratified`: the Cochran-Mantel-Haenszel test and a chi-square test of the mix;
* :mod:`.multiplicity`: Holm's adjustment;
* :mod:`.cells`: records grouped by outcome, and every classification metric from per-class sums;
* :mod:`.resample`: BCa bootstrap intervals and Monte Carlo permutation tests over cells;
* :mod:`.exact`: exact permutation tests of one class's precision or F1;
* :mod:`.power`: records needed for a given power, and the minimum detectable effect.

Every function is checked against scipy, statsmodels or a published worked example in
``tests/ledger/test_stats*.py``.
"""

import importlib
from typing import Any

_EXPORTS = {
    "means": ("PairedTResult", "WelchResult", "WilcoxonResult", "paired_t_test", "welch_from_moments", "welch_t_test",
              "wilcoxon_signed_rank"),
    "multiplicity": ("holm",),
    "proportions": ("FisherResult", "McNemarResult", "binom_cdf_half", "fisher_exact", "mcnemar_exact",
                    "newcombe_interval", "wilson_interval"),
    "special": ("betainc", "chi2_sf", "gammaincc", "lbeta", "norm_cdf", "norm_ppf", "norm_sf", "t_cdf", "t_ppf",
                "t_sf", "t_two_sided_p"),
    "stratified": ("CMHResult", "HomogeneityResult", "Stratum2x2", "cmh_test", "homogeneity_test"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """``ledger.stats.welch_t_test`` and the like, importing only the submodule that holds it (the
    compare path imports the few it uses)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'ledger.stats' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
