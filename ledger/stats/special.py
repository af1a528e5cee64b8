"""Distributions written out with :mod:`math`: no scipy on the ``ledger compare`` path.

``scipy.stats`` costs ~0.8 s to import, more than a whole ``ledger compare`` may take, so:

* the Student-t CDF through the regularized incomplete beta function, evaluated with its continued
  fraction (modified Lentz, as in Numerical Recipes' ``betacf``), and its inverse by safeguarded
  Newton steps; the normal CDF through :func:`math.erfc` and its inverse likewise;
* the chi-square survival function through the regularized incomplete gamma function (its series
  below ``a + 1``, its continued fraction above: Numerical Recipes' ``gser``/``gcf``).

Each is checked against ``scipy.special``/``scipy.stats`` to 1e-9 in ``tests/ledger/test_stats.py``.
"""

from __future__ import annotations

import functools
import math

_EPS = 1e-16
_TINY = 1e-300


# ---- special functions -------------------------------------------------------------------


def _lentz_step(aa: float, c: float, d: float) -> tuple[float, float]:
    """One term of a continued fraction by the modified Lentz method: the new ``c`` and ``1/d``."""
    d = 1.0 + aa * d
    if abs(d) < _TINY:
        d = _TINY
    c = 1.0 + aa / c
    if abs(c) < _TINY:
        c = _TINY
    return c, 1.0 / d


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
        c, d = _lentz_step(m * (b - m) * x / ((qam + m2) * (a + m2)), c, d)
        h *= d * c
        c, d = _lentz_step(-(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)), c, d)
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


@functools.lru_cache(maxsize=64)
def t_ppf(p: float, df: float) -> float:
    """The Student-t quantile: the t with ``t_cdf(t, df) == p`` (cached: a comparison asks for the
    same quantile of every column)."""
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


def gammaincc(a: float, x: float) -> float:
    """The regularized upper incomplete gamma function Q(a, x), for a > 0 and x >= 0."""
    if a <= 0:
        raise ValueError("gammaincc needs a > 0")
    if x <= 0:
        return 1.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:  # the series for P(a, x) converges fast here
        term = total = 1.0 / a
        ap = a
        for _ in range(100_000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    # continued fraction for Q(a, x) (modified Lentz)
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, 100_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < _TINY:
            d = _TINY
        c = b + an / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return math.exp(log_front) * h


def chi2_sf(x: float, df: float) -> float:
    """P(X > x) for a chi-square variable with ``df`` degrees of freedom."""
    if math.isnan(x) or df <= 0:
        return math.nan
    return gammaincc(df / 2.0, x / 2.0) if x > 0 else 1.0
