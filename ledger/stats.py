"""Statistics for comparing runs: pure functions, no database, no printing, no scipy.

``scipy.stats`` costs ~0.8 s to import, more than a whole ``ledger compare`` may take, so the few
distributions needed here are written out with :mod:`math` (and numpy for the bootstrap):

* the Student-t CDF through the regularized incomplete beta function, evaluated with its continued
  fraction (modified Lentz, as in Numerical Recipes' ``betacf``), and its inverse by safeguarded
  Newton steps; the normal CDF through :func:`math.erfc` and its inverse likewise;
* Welch's unequal-variance t-test (what ``scipy.stats.ttest_ind(equal_var=False)`` computes), with
  the Welch-Satterthwaite degrees of freedom, a confidence interval for the difference of means,
  Cohen's d and Hedges' g;
* the exact McNemar test (the two-sided binomial test of the discordant pairs against 1/2), summed
  exactly with :func:`math.comb` for up to 20,000 discordant pairs, through the incomplete beta
  function beyond;
* the two-proportion z-test, Wilson's score interval and Newcombe's hybrid score interval
  (Newcombe 1998, method 10) for a difference of two independent proportions;
* Holm's step-down adjustment for multiple comparisons;
* bootstrap confidence intervals (percentile method, seeded ``numpy.random.Generator``) for the
  differences in precision, recall, F1 and accuracy, paired (same records in both runs) or not.

Every function is checked against ``scipy.stats`` (to 1e-9, on random data) and against worked
examples with published answers in ``tests/ledger/test_stats.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

_EPS = 1e-16
_TINY = 1e-300


# ---- special functions -------------------------------------------------------------------


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz's method)."""
    qab = a + b
    qap = a + 1.0
    qam = a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < _TINY:
        d = _TINY
    d = 1.0 / d
    h = d
    max_iter = 10_000 + int(20 * math.sqrt(max(a, b)))
    for m in range(1, max_iter + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        if abs(d) < _TINY:
            d = _TINY
        c = 1.0 + aa / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        if abs(d) < _TINY:
            d = _TINY
        c = 1.0 + aa / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            return h
    raise ArithmeticError(f"incomplete beta continued fraction did not converge (a={a}, b={b}, x={x})")


_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400)
_LN_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _lgammacor(x: float) -> float:
    """lgamma(x) - ((x - 1/2) log x - x + log sqrt(2 pi)), by Stirling's series (x >= 10)."""
    inv = 1.0 / x
    inv2 = inv * inv
    total = 0.0
    power = inv
    for coef in _STIRLING:
        total += coef * power
        power *= inv2
    return total


def lbeta(a: float, b: float) -> float:
    """log B(a, b) without the cancellation of lgamma(a) + lgamma(b) - lgamma(a + b) when one
    argument is large (the arrangement of R's ``lbeta``)."""
    p, q = min(a, b), max(a, b)
    if p >= 10:
        corr = _lgammacor(p) + _lgammacor(q) - _lgammacor(p + q)
        return (-0.5 * math.log(q) + _LN_SQRT_2PI + corr + (p - 0.5) * math.log(p / (p + q))
                + q * math.log1p(-p / (p + q)))
    if q >= 10:
        corr = _lgammacor(q) - _lgammacor(p + q)
        return math.lgamma(p) + corr + p - p * math.log(p + q) + (q - 0.5) * math.log1p(-p / (p + q))
    return math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q)


def betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b), for a, b > 0 and 0 <= x <= 1."""
    return _ibeta(a, b, x, 1.0 - x)


def _ibeta(a: float, b: float, x: float, y: float) -> float:
    """I_x(a, b) given both x and y = 1 - x (each exact), so neither is lost to rounding."""
    if a <= 0 or b <= 0:
        raise ValueError("betainc needs a > 0 and b > 0")
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    log_x = math.log1p(-y) if y < 0.5 else math.log(x)
    log_y = math.log1p(-x) if x < 0.5 else math.log(y)
    log_front = a * log_x + b * log_y - lbeta(a, b)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, y) / b


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom (df may be fractional)."""
    if math.isnan(t) or math.isnan(df) or df <= 0:
        return math.nan
    if math.isinf(df):
        return norm_sf(t)
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    tail2 = _t_two_tail(t, df)
    return 0.5 * tail2 if t > 0 else 1.0 - 0.5 * tail2


def _t_two_tail(t: float, df: float) -> float:
    """P(|T| > |t|) = I_x(df/2, 1/2) with x = df / (df + t^2) and 1 - x = t^2 / (df + t^2)."""
    t2 = t * t
    den = df + t2
    return _ibeta(df / 2.0, 0.5, df / den, t2 / den)


def t_cdf(t: float, df: float) -> float:
    return t_sf(-t, df)


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|)."""
    if math.isnan(t) or math.isnan(df) or df <= 0:
        return math.nan
    if math.isinf(df):
        return math.erfc(abs(t) / math.sqrt(2.0))
    if math.isinf(t):
        return 0.0
    return min(1.0, _t_two_tail(t, df))


def t_pdf(t: float, df: float) -> float:
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_c - (df + 1) / 2 * math.log1p(t * t / df))


def norm_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def norm_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def norm_ppf(p: float) -> float:
    """The standard normal quantile (Acklam's rational approximation, polished by Newton steps)."""
    if not 0.0 < p < 1.0:
        if p == 0.0:
            return -math.inf
        if p == 1.0:
            return math.inf
        return math.nan
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
         1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
         6.680131188771972e01, -1.328068155288572e01)
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
         -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    plow = 0.02425
    if p < plow:
        q = math.sqrt(-2 * math.log(p))
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    elif p <= 1 - plow:
        q = p - 0.5
        r = q * q
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (
            ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    else:
        q = math.sqrt(-2 * math.log1p(-p))
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    for _ in range(3):  # Newton (Halley would also do); each step squares the error
        err = norm_cdf(x) - p if p < 0.5 else (1.0 - p) - norm_sf(x)
        pdf = math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        if pdf == 0:
            break
        x -= err / pdf
    return x


def t_ppf(p: float, df: float) -> float:
    """The Student-t quantile: the t with ``t_cdf(t, df) == p``."""
    if not 0.0 < p < 1.0:
        if p == 0.0:
            return -math.inf
        if p == 1.0:
            return math.inf
        return math.nan
    if math.isinf(df):
        return norm_ppf(p)
    if p > 0.5:
        return -t_ppf(1.0 - p, df)
    if p == 0.5:
        return 0.0
    # p < 0.5: find t < 0 with t_cdf(t) = p, i.e. t_sf(|t|) = p. Bracket, then Newton + bisection,
    # started from the Cornish-Fisher expansion around the normal quantile (Abramowitz & Stegun
    # 26.7.5), which is already close for all but tiny df: Newton then needs two or three steps.
    z = -norm_ppf(p)
    z2 = z * z
    guess = z + (z2 + 1) * z / (4 * df) + ((5 * z2 + 16) * z2 + 3) * z / (96 * df**2) \
        + (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / (384 * df**3)
    if not math.isfinite(guess) or guess <= 0:
        guess = 1.0
    lo, hi = 0.0, math.inf  # the root lies in (lo, hi): t_sf falls as x grows
    x = guess
    for _ in range(400):
        f = t_sf(x, df) - p
        if f > 0:
            lo = x
        else:
            hi = x
        pdf = t_pdf(x, df)
        step = x + f / pdf if pdf > 0 else math.nan
        if lo < step < hi:
            x_new = step
        elif math.isinf(hi):
            x_new = 2.0 * x
            if x_new > 1e300:
                return -math.inf
        else:
            x_new = 0.5 * (lo + hi)
        if abs(x_new - x) <= 1e-15 * max(1.0, abs(x)):
            x = x_new
            break
        x = x_new
    return -x


# ---- Welch's t-test -----------------------------------------------------------------------


@dataclass(frozen=True)
class WelchResult:
    """Welch's t-test of mean(b) - mean(a) (the sign convention of ``ttest_ind(b, a)``)."""

    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    diff: float
    t: float
    df: float
    p_value: float
    ci_low: float
    ci_high: float
    cohens_d: float
    hedges_g: float

    def to_dict(self) -> dict[str, Any]:
        return {k: _finite_or_none(v) for k, v in asdict(self).items()}


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def _mean_var(values: Sequence[float] | np.ndarray) -> tuple[int, float, float]:
    """(n, mean, unbiased variance) with a two-pass sum (numerically stable)."""
    import numpy as np

    arr = np.asarray(values, dtype=np.float64)
    n = int(arr.size)
    if n == 0:
        return 0, math.nan, math.nan
    mean = float(math.fsum(arr.tolist()) / n) if n < 64 else float(np.mean(arr))
    if n < 2:
        return n, mean, math.nan
    dev = arr - mean
    var = float(np.dot(dev, dev) - (float(np.sum(dev)) ** 2) / n) / (n - 1)
    return n, mean, max(var, 0.0)


def welch_from_moments(
    n_a: int, mean_a: float, var_a: float, n_b: int, mean_b: float, var_b: float, alpha: float = 0.05
) -> WelchResult:
    """Welch's test from summary statistics (unbiased variances)."""
    diff = mean_b - mean_a
    nan = math.nan
    if n_a < 2 or n_b < 2:
        return WelchResult(n_a, n_b, mean_a, mean_b, diff, nan, nan, nan, nan, nan, nan, nan)
    va, vb = var_a / n_a, var_b / n_b
    se2 = va + vb
    pooled_sd = math.sqrt(((n_a - 1) * var_a + (n_b - 1) * var_b) / (n_a + n_b - 2))
    d = diff / pooled_sd if pooled_sd > 0 else nan
    # Hedges' small-sample correction J = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)), m = n_a+n_b-2.
    m = n_a + n_b - 2
    j = math.exp(math.lgamma(m / 2) - math.lgamma((m - 1) / 2) - 0.5 * math.log(m / 2)) if m > 1 else nan
    g = d * j
    if se2 <= 0:
        return WelchResult(n_a, n_b, mean_a, mean_b, diff, nan, nan, nan, nan, nan, d, g)
    se = math.sqrt(se2)
    t = diff / se
    scale = max(va, vb)  # scaled so that squaring tiny variances cannot underflow to 0
    ra, rb = va / scale, vb / scale
    df = (ra + rb) ** 2 / (ra * ra / (n_a - 1) + rb * rb / (n_b - 1))
    p = t_two_sided_p(t, df)
    q = t_ppf(1.0 - alpha / 2.0, df)
    return WelchResult(n_a, n_b, mean_a, mean_b, diff, t, df, p, diff - q * se, diff + q * se, d, g)


def welch_t_test(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, alpha: float = 0.05) -> WelchResult:
    """Welch's unequal-variance t-test of mean(b) - mean(a); NaNs are left out."""
    import numpy as np

    arr_a = np.asarray(a, dtype=np.float64)
    arr_b = np.asarray(b, dtype=np.float64)
    arr_a = arr_a[~np.isnan(arr_a)]
    arr_b = arr_b[~np.isnan(arr_b)]
    n_a, mean_a, var_a = _mean_var(arr_a)
    n_b, mean_b, var_b = _mean_var(arr_b)
    return welch_from_moments(n_a, mean_a, var_a, n_b, mean_b, var_b, alpha)


# ---- tests on proportions ------------------------------------------------------------------


@dataclass(frozen=True)
class McNemarResult:
    """Exact McNemar test: ``b`` = right in A only, ``c`` = right in B only."""

    b: int
    c: int
    statistic: int  # min(b, c), the binomial test's statistic
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_EXACT_LIMIT = 20_000


def binom_cdf_half(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if n <= _EXACT_LIMIT:
        term = 1
        total = 1
        for i in range(k):
            term = term * (n - i) // (i + 1)
            total += term
        return total / (1 << n)  # int / int: correctly rounded
    # P(X <= k) = I_{1/2}(n - k, k + 1)
    return betainc(n - k, k + 1, 0.5)


def mcnemar_exact(b: int, c: int) -> McNemarResult:
    """Two-sided exact McNemar p-value: min(1, 2 P(X <= min(b, c))), X ~ Binomial(b + c, 1/2)."""
    if b < 0 or c < 0:
        raise ValueError("discordant counts must be >= 0")
    n = b + c
    k = min(b, c)
    p = 1.0 if n == 0 else min(1.0, 2.0 * binom_cdf_half(k, n))
    return McNemarResult(b, c, k, p)


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """Pooled two-proportion z-test of x2/n2 - x1/n1: (z, two-sided p); NaN when undefined."""
    if n1 == 0 or n2 == 0:
        return math.nan, math.nan
    p_pool = (x1 + x2) / (n1 + n2)
    se = math.sqrt(p_pool * (1 - p_pool) * (1 / n1 + 1 / n2))
    if se == 0:
        return math.nan, math.nan
    z = (x2 / n2 - x1 / n1) / se
    return z, math.erfc(abs(z) / math.sqrt(2.0))


def wilson_interval(x: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson's score interval for the proportion x/n."""
    if n == 0:
        return math.nan, math.nan
    z = norm_ppf(1 - alpha / 2)
    p = x / n
    z2 = z * z
    centre = p + z2 / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    den = 1 + z2 / n
    low = 0.0 if x == 0 else max(0.0, (centre - half) / den)
    high = 1.0 if x == n else min(1.0, (centre + half) / den)
    return low, high


def newcombe_interval(x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05) -> tuple[float, float]:
    """Newcombe's hybrid score interval (1998, method 10) for x2/n2 - x1/n1 (independent)."""
    if n1 == 0 or n2 == 0:
        return math.nan, math.nan
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, alpha)
    l2, u2 = wilson_interval(x2, n2, alpha)
    d = p2 - p1
    low = d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return low, high


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (NaNs stay NaN and are not counted)."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    m = len(indexed)
    out = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


# ---- bootstrap ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BootstrapCI:
    metric: str
    a: float
    b: float
    delta: float
    ci_low: float
    ci_high: float
    level: float
    n_boot: int
    paired: bool

    def to_dict(self) -> dict[str, Any]:
        return {k: _finite_or_none(v) for k, v in asdict(self).items()}


def _metric_arrays(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> dict[str, np.ndarray]:
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
        recall = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / np.where(precision + recall > 0, precision + recall, 1), 0.0)
    return {"precision": precision, "recall": recall, "f1": f1}


BOOT_METRICS = ("precision", "recall", "f1", "accuracy", "balanced_accuracy", "mcc", "macro_f1", "weighted_f1")


def _cell_metrics(counts: np.ndarray, truth: np.ndarray, pred: np.ndarray, n_classes: int,
                  positive: int | None) -> dict[str, np.ndarray]:
    """Metrics of each bootstrap replicate from its counts over the distinct (truth, pred) cells.

    ``counts`` is (replicates, cells); ``truth``/``pred`` give each cell's class codes. The
    conventions are :func:`ledger.metrics.classification_metrics`'s: macro averages over the classes
    in labels or predictions, balanced accuracy over the classes in the labels, Gorodkin's MCC.
    """
    import numpy as np

    hit = truth == pred
    n = counts.sum(axis=1).astype(np.float64)
    out: dict[str, np.ndarray] = {"accuracy": (counts @ hit.astype(np.float64)) / np.maximum(n, 1)}
    if positive is not None:
        tp = counts @ ((truth == positive) & (pred == positive)).astype(np.float64)
        fp = counts @ ((truth != positive) & (pred == positive)).astype(np.float64)
        fn = counts @ ((truth == positive) & (pred != positive)).astype(np.float64)
        out.update(_metric_arrays(tp, fp, fn))
    # Per-class counts of each replicate by one bincount over (replicate, class) pairs, a chunk of
    # replicates at a time (memory stays at chunk x classes however many classes there are).
    reps = counts.shape[0]
    chunk = max(1, min(reps, 2_000_000 // max(n_classes, counts.shape[1], 1)))
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("macro_precision", "macro_recall", "macro_f1",
                                                         "weighted_f1", "balanced_accuracy", "mcc")}
    for start in range(0, reps, chunk):
        block = counts[start:start + chunk].astype(np.float64)
        r = block.shape[0]
        offs = (np.arange(r) * n_classes)[:, None]
        weights = block.ravel()
        size = r * n_classes
        support = np.bincount((offs + truth[None, :]).ravel(), weights=weights, minlength=size).reshape(r, n_classes)
        predicted = np.bincount((offs + pred[None, :]).ravel(), weights=weights, minlength=size).reshape(r, n_classes)
        tp = np.bincount((offs + truth[None, :])[:, hit].ravel(), weights=block[:, hit].ravel(),
                         minlength=size).reshape(r, n_classes)
        per = _metric_arrays(tp, predicted - tp, support - tp)
        present = (support + predicted) > 0
        k = np.maximum(present.sum(axis=1), 1)
        for name in ("precision", "recall", "f1"):
            parts[f"macro_{name}"].append(np.where(present, per[name], 0.0).sum(axis=1) / k)
        total = support.sum(axis=1)
        parts["weighted_f1"].append((per["f1"] * support).sum(axis=1) / np.maximum(total, 1))
        labelled = support > 0
        parts["balanced_accuracy"].append(np.where(labelled, per["recall"], 0.0).sum(axis=1)
                                          / np.maximum(labelled.sum(axis=1), 1))
        correct = tp.sum(axis=1)
        cov_ytyp = correct * total - (predicted * support).sum(axis=1)
        cov_ypyp = total * total - (predicted * predicted).sum(axis=1)
        cov_ytyt = total * total - (support * support).sum(axis=1)
        den = cov_ytyt * cov_ypyp
        with np.errstate(divide="ignore", invalid="ignore"):
            parts["mcc"].append(np.where(den > 0, cov_ytyp / np.sqrt(np.where(den > 0, den, 1.0)), 0.0))
    for name, arrays in parts.items():
        out[name] = np.concatenate(arrays)
    if positive is None:
        for name in ("precision", "recall", "f1"):
            out[name] = out[f"macro_{name}"]
    return out


def bootstrap_deltas(
    truth_a: np.ndarray, pred_a: np.ndarray, truth_b: np.ndarray, pred_b: np.ndarray, *,
    n_classes: int, positive: int | None, paired: bool, n_boot: int = 1000, seed: int = 0,
    level: float = 0.95,
) -> list[BootstrapCI]:
    """Percentile bootstrap CIs for the differences (B - A) in precision, recall, F1, accuracy,
    balanced accuracy, MCC, macro F1 and weighted F1 (:data:`BOOT_METRICS`).

    Inputs are integer class codes. Paired: the arrays are aligned record by record and each
    replicate resamples records (the same ones for both runs; each run keeps its own labels, which
    differ only where a label was corrected between the runs). Unpaired: each run's records are
    resampled on their own. A replicate depends on the records only through how many fall in each
    distinct (label, prediction[, prediction]) cell, so it is drawn as one multinomial over those
    cells: the same distribution as resampling indices, at a cost independent of the record count.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    lo_q, hi_q = 100 * (1 - level) / 2, 100 * (1 + level) / 2

    def cells(*cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The distinct rows of the stacked code columns (in lexicographic order) and their counts.
        Each row is one mixed-radix integer, so counting is a bincount, not a sort of rows."""
        k = max(int(n_classes), 1)
        if k ** len(cols) >= 2**62:  # too many classes for one int64 key: sort the rows instead
            stacked = np.stack(cols, axis=1)
            uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
            return uniq, np.bincount(inverse.ravel(), minlength=len(uniq))
        key = np.zeros(cols[0].size, dtype=np.int64)
        for col in cols:
            key = key * k + col.astype(np.int64, copy=False)
        if k ** len(cols) <= 1 << 22:
            counts = np.bincount(key, minlength=k ** len(cols))
            keys = np.flatnonzero(counts)
            freq = counts[keys]
        else:
            keys, freq = np.unique(key, return_counts=True)
        uniq = np.empty((keys.size, len(cols)), dtype=np.int64)
        rest = keys
        for j in range(len(cols) - 1, -1, -1):
            uniq[:, j] = rest % k
            rest = rest // k
        return uniq, freq

    if paired:
        if not (truth_a.size == pred_a.size == pred_b.size == truth_b.size):
            raise ValueError("paired bootstrap needs aligned arrays")
        uniq, freq = cells(truth_a, pred_a, truth_b, pred_b)
        n = int(truth_a.size)
        counts = rng.multinomial(n, freq / n, size=n_boot)
        point_a = _cell_metrics(freq[None, :], uniq[:, 0], uniq[:, 1], n_classes, positive)
        point_b = _cell_metrics(freq[None, :], uniq[:, 2], uniq[:, 3], n_classes, positive)
        boot_a = _cell_metrics(counts, uniq[:, 0], uniq[:, 1], n_classes, positive)
        boot_b = _cell_metrics(counts, uniq[:, 2], uniq[:, 3], n_classes, positive)
    else:
        ua, fa = cells(truth_a, pred_a)
        ub, fb = cells(truth_b, pred_b)
        na, nb = int(truth_a.size), int(truth_b.size)
        counts_a = rng.multinomial(na, fa / na, size=n_boot)
        counts_b = rng.multinomial(nb, fb / nb, size=n_boot)
        point_a = _cell_metrics(fa[None, :], ua[:, 0], ua[:, 1], n_classes, positive)
        point_b = _cell_metrics(fb[None, :], ub[:, 0], ub[:, 1], n_classes, positive)
        boot_a = _cell_metrics(counts_a, ua[:, 0], ua[:, 1], n_classes, positive)
        boot_b = _cell_metrics(counts_b, ub[:, 0], ub[:, 1], n_classes, positive)
    out: list[BootstrapCI] = []
    for name in BOOT_METRICS:
        diffs = boot_b[name] - boot_a[name]
        low, high = np.percentile(diffs, [lo_q, hi_q])
        a, b = float(point_a[name][0]), float(point_b[name][0])
        out.append(BootstrapCI(name, a, b, b - a, float(low), float(high), level, n_boot, paired))
    return out
