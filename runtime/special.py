"""Special functions generated code calls (scipy.special's erf, gammaln, digamma and the trigamma
function digamma's derivative needs), for floats and arrays alike.

Under backend="python" they are scipy.special's own functions. numba cannot call scipy.special,
so the numba versions apply math.erf, math.lgamma or the series below element by element.
"""
import math

import numpy as np
import scipy.special
from numba import types

from .compile_once import runtime_jitable, runtime_overload


def erf(x):
    return scipy.special.erf(x)


def erfc(x):
    return scipy.special.erfc(x)


def gammaln(x):
    return scipy.special.gammaln(x)


def digamma(x):
    return scipy.special.digamma(x)


def trigamma(x):
    """The derivative of digamma."""
    return scipy.special.polygamma(1, x)


@runtime_jitable
def _digamma(x):
    if x <= 0.0 and x == math.floor(x):
        return math.nan
    shift = 0.0
    if x < 0.0:   # reflection: psi(x) = psi(1 - x) - pi / tan(pi x)
        shift = -math.pi / math.tan(math.pi * x)
        x = 1.0 - x
    while x < 10.0:   # psi(x) = psi(x + 1) - 1/x, up to where the asymptotic series is exact
        shift -= 1.0 / x
        x += 1.0
    inv2 = 1.0 / (x * x)
    series = inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (1.0 / 240 - inv2 / 132))))
    return shift + math.log(x) - 0.5 / x - series


@runtime_jitable
def _trigamma(x):
    if x <= 0.0 and x == math.floor(x):
        return math.nan
    sign, shift = 1.0, 0.0
    if x < 0.0:   # reflection: psi1(x) = pi^2 / sin(pi x)^2 - psi1(1 - x)
        sign, shift = -1.0, (math.pi / math.sin(math.pi * x)) ** 2
        x = 1.0 - x
    tail = 0.0
    while x < 10.0:   # psi1(x) = psi1(x + 1) + 1/x^2
        tail += 1.0 / (x * x)
        x += 1.0
    inv = 1.0 / x
    inv2 = inv * inv
    series = inv + 0.5 * inv2 + inv * inv2 * (1.0 / 6 - inv2 * (1.0 / 30 - inv2 * (1.0 / 42 - inv2 * (1.0 / 30 - inv2 * 5.0 / 66))))
    return shift + sign * (tail + series)


def _elementwise(scalar):
    """A numba overload applying `scalar` to a float, or to each element of an array."""
    def typer(x):
        if isinstance(x, types.Array):
            # numba reshapes only arrays it knows are contiguous: a column or a transpose (layout
            # "A" or "F") is copied into C order first, decided when it compiles
            contiguous = x.layout == "C"

            def each(x):
                out = np.empty(x.shape)
                flat_in = x.reshape(-1) if contiguous else np.ascontiguousarray(x).reshape(-1)
                flat_out = out.reshape(-1)
                for k in range(flat_in.size):
                    flat_out[k] = scalar(flat_in[k])
                return out
            return each
        return lambda x: scalar(float(x))
    return typer


@runtime_jitable
def _erf(x):
    return math.erf(x)


@runtime_jitable
def _erfc(x):
    return math.erfc(x)


@runtime_jitable
def _lgamma(x):
    return math.lgamma(x)


def sinc_slope(x):
    """The derivative of np.sinc: (cos(pi x) - sinc(x)) / x, and its limit 0 at x = 0 (where the
    quotient is 0/0); near 0, its Taylor series, as the quotient loses every digit there."""
    return np.vectorize(_sinc_slope, otypes=[float])(x) if np.ndim(x) else _sinc_slope(float(x))


@runtime_jitable
def _sinc_slope(x):
    if abs(x) < 1e-4:   # -(pi^2 x / 3) (1 - pi^2 x^2 / 10): the series' first two terms, exact to 1e-17 here
        p2 = math.pi * math.pi
        return -p2 * x / 3.0 * (1.0 - p2 * x * x / 10.0)
    px = math.pi * x
    return (math.cos(px) - math.sin(px) / px) / x


for _python, _scalar in ((sinc_slope, _sinc_slope), (erf, _erf), (erfc, _erfc), (gammaln, _lgamma), (digamma, _digamma), (trigamma, _trigamma)):
    runtime_overload(_python)(_elementwise(_scalar))
