"""Elementwise primitives: each entry is its partial derivatives, one per argument, written as math.

`M` is the module the user called (math or np), `ans` the primal result. The same partials drive
forward mode (dy = p * dx) and reverse mode (x_bar += p * y_bar).
"""
# ruff: noqa: E731
import math

import numpy as np
from srcgrad_runtime import digamma, sinc_slope, trigamma

from .registry import alias, elementwise, inactive
from .results import broadcast, float_broadcast, math_float, one_of_two_numbers, python_bool, python_int, rounded

M = np  # only for linters: templates are parsed, never run
ans = 0.0
REAL = (-2.0, 2.0)
POSITIVE = (0.1, 3.0)
UNIT = (-0.9, 0.9)

# ----- Arithmetic operators and their ufunc spellings ----------------------------------------

@elementwise("op:+", "np.add", domain=(REAL, REAL), kind=broadcast)
def add(a, b):
    return 1, 1

@elementwise("op:-", "np.subtract", domain=(REAL, REAL), kind=broadcast)
def sub(a, b):
    return 1, -1

@elementwise("op:*", "np.multiply", domain=(REAL, REAL), kind=broadcast)
def mul(a, b):
    return b, a

@elementwise("op:/", "np.divide", domain=(REAL, POSITIVE))
def div(a, b):
    return 1.0 / b, -ans * (1.0 / b)   # one reciprocal serves both partials

@elementwise("op:**", domain=(POSITIVE, REAL), kind=broadcast)
@elementwise("np.power", domain=(POSITIVE, REAL), expensive=True, kind=broadcast)
@elementwise("math.pow", domain=(POSITIVE, REAL), expensive=True)
def power(a, b):
    return b * a ** (b - 1), ans * np.log(a)

@elementwise("op:%", "np.mod", domain=(POSITIVE, POSITIVE), kind=broadcast)
def mod(a, b):
    return 1, -(a // b)

@elementwise("np.fmod", domain=(POSITIVE, POSITIVE), kind=broadcast)
@elementwise("math.fmod", domain=(POSITIVE, POSITIVE), spelling="np.fmod")   # numba has no math.fmod
def fmod(a, b):
    return 1, -M.trunc(a / b)

@elementwise("op:unary-", "np.negative", domain=(REAL,), kind=broadcast)
def negative(x):
    return -1

@elementwise("op:unary+", "np.positive", domain=(REAL,), kind=broadcast)
@elementwise("float", domain=(REAL,), kind=math_float)
def identity(x):
    return 1

# ----- Trigonometric ----------------------------------------------------------------------

@elementwise("math.sin", "np.sin", domain=(REAL,), expensive=True)
def sin(x):
    return M.cos(x)

@elementwise("math.cos", "np.cos", domain=(REAL,), expensive=True)
def cos(x):
    return -M.sin(x)

@elementwise("math.tan", "np.tan", domain=(UNIT,), expensive=True)
def tan(x):
    return 1.0 + ans * ans

@elementwise("math.asin", "np.arcsin", domain=(UNIT,), expensive=True)
def arcsin(x):
    return 1.0 / M.sqrt(1.0 - x * x)

@elementwise("math.acos", "np.arccos", domain=(UNIT,), expensive=True)
def arccos(x):
    return -1.0 / M.sqrt(1.0 - x * x)

@elementwise("math.atan", "np.arctan", domain=(REAL,), expensive=True)
def arctan(x):
    return 1.0 / (1.0 + x * x)

@elementwise("math.atan2", "np.arctan2", domain=(POSITIVE, POSITIVE), expensive=True)
def arctan2(y, x):
    return x / (x * x + y * y), -y / (x * x + y * y)

# ----- Hyperbolic -------------------------------------------------------------------------

@elementwise("math.sinh", "np.sinh", domain=(REAL,), expensive=True)
def sinh(x):
    return M.cosh(x)

@elementwise("math.cosh", "np.cosh", domain=(REAL,), expensive=True)
def cosh(x):
    return M.sinh(x)

@elementwise("math.tanh", "np.tanh", domain=(REAL,), expensive=True)
def tanh(x):
    return 1.0 - ans * ans

@elementwise("math.asinh", "np.arcsinh", domain=(REAL,), expensive=True)
def arcsinh(x):
    return 1.0 / M.sqrt(x * x + 1.0)

@elementwise("math.acosh", "np.arccosh", domain=((1.1, 3.0),), expensive=True)
def arccosh(x):
    return 1.0 / M.sqrt(x * x - 1.0)

@elementwise("math.atanh", "np.arctanh", domain=(UNIT,), expensive=True)
def arctanh(x):
    return 1.0 / (1.0 - x * x)

# ----- Angles -----------------------------------------------------------------------------

@elementwise("np.deg2rad", "np.radians", "math.radians", domain=(REAL,))
def deg2rad(x):
    return math.pi / 180.0

@elementwise("np.rad2deg", "np.degrees", "math.degrees", domain=(REAL,))
def rad2deg(x):
    return 180.0 / math.pi

# ----- Exponentials and logarithms --------------------------------------------------------

@elementwise("math.exp", "np.exp", domain=(REAL,), expensive=True)
def exp(x):
    return ans

@elementwise("np.exp2", domain=(REAL,), expensive=True)
def exp2(x):
    return ans * M.log(2.0)

@elementwise("math.expm1", "np.expm1", domain=(REAL,), expensive=True)
def expm1(x):
    return ans + 1.0

@elementwise("math.log", "np.log", domain=(POSITIVE,), expensive=True)
def log(x):
    return 1.0 / x

@elementwise("math.log2", "np.log2", domain=(POSITIVE,), expensive=True)
def log2(x):
    return 1.0 / (x * M.log(2.0))

@elementwise("math.log10", "np.log10", domain=(POSITIVE,), expensive=True)
def log10(x):
    return 1.0 / (x * M.log(10.0))

@elementwise("math.log1p", "np.log1p", domain=(POSITIVE,), expensive=True)
def log1p(x):
    return 1.0 / (1.0 + x)

@elementwise("np.logaddexp", domain=(REAL, REAL), expensive=True)
def logaddexp(a, b):
    return np.exp(a - ans), np.exp(b - ans)

@elementwise("np.logaddexp2", domain=(REAL, REAL), expensive=True)
def logaddexp2(a, b):
    return np.exp2(a - ans), np.exp2(b - ans)

@elementwise("math.erf", domain=(REAL,), expensive=True)
def erf(x):
    return 1.1283791670955126 * M.exp(-x * x)   # 2 / sqrt(pi)

@elementwise("math.erfc", domain=(REAL,), expensive=True)
def erfc(x):
    return -1.1283791670955126 * M.exp(-x * x)

@elementwise("math.lgamma", domain=(POSITIVE,), expensive=True)
@elementwise("scipy.special.gammaln", domain=(POSITIVE,), expensive=True, spelling="gammaln", kind=float_broadcast)
def gammaln(x):
    return digamma(x)

# numba cannot call scipy.special: generated code calls srcgrad_runtime's, for floats and arrays

@elementwise("scipy.special.erf", domain=(REAL,), expensive=True, spelling="erf", kind=float_broadcast)
def special_erf(x):
    return 1.1283791670955126 * np.exp(-x * x)

@elementwise("scipy.special.erfc", domain=(REAL,), expensive=True, spelling="erfc", kind=float_broadcast)
def special_erfc(x):
    return -1.1283791670955126 * np.exp(-x * x)

@elementwise("scipy.special.digamma", domain=(POSITIVE,), expensive=True, spelling="digamma",
             kind=float_broadcast)
def special_digamma(x):
    return trigamma(x)

@elementwise("np.sinc", domain=(REAL,), expensive=True)
def sinc(x):
    return sinc_slope(x)   # 0 at x = 0, where the quotient formula is 0/0

# ----- Powers and roots -------------------------------------------------------------------

@elementwise("math.sqrt", "np.sqrt", domain=(POSITIVE,))
def sqrt(x):
    return 0.5 / ans

@elementwise("np.cbrt", domain=(POSITIVE,), expensive=True)
def cbrt(x):
    return 1.0 / (3.0 * ans * ans)

@elementwise("np.square", domain=(REAL,), kind=broadcast)
def square(x):
    return 2.0 * x

@elementwise("np.reciprocal", domain=(POSITIVE,), kind=broadcast)
def reciprocal(x):
    return -ans * ans

@elementwise("math.hypot", "np.hypot", domain=(POSITIVE, POSITIVE), expensive=True)
def hypot(a, b):
    return a / ans, b / ans

# ----- Piecewise (derivative of the selected branch; kinks take the first argument's side) --

@elementwise("abs", "np.abs", domain=(POSITIVE,), kind=broadcast)
@elementwise("math.fabs", "np.fabs", domain=(POSITIVE,))
def absolute(x):
    return np.sign(x)

@elementwise("np.maximum", "np.fmax", domain=(REAL, REAL), kind=broadcast)
@elementwise("max", domain=(REAL, REAL), kind=one_of_two_numbers)
def maximum(a, b):
    return 1.0 * (a >= b), 1.0 * (a < b)

@elementwise("np.minimum", "np.fmin", domain=(REAL, REAL), kind=broadcast)
@elementwise("min", domain=(REAL, REAL), kind=one_of_two_numbers)
def minimum(a, b):
    return 1.0 * (a <= b), 1.0 * (a > b)

# numba's np.clip takes arrays only; in element loops (where its partials compare numbers, not
# arrays) generated code calls the runtime's clip of numbers
@elementwise("np.clip", domain=(REAL, (-1.0, -0.5), (0.5, 1.0)), spelling="clip", kind=broadcast, fuse="elementwise",
             methods=("clip",))
def clip(x, lo, hi):
    return 1.0 * ((x >= lo) & (x <= hi)), 1.0 * (x < lo), 1.0 * (x > hi)

# ----- Zero derivative: rounding and sign -------------------------------------------------

SCALARS = ((0.5,), (2,))
ARRAYS = ((0.5,), (2,), (np.linspace(0.1, 0.9, 5),))
inactive("math.floor", "math.ceil", "math.trunc", "int", kind=python_int, samples=SCALARS)
inactive("round", kind=rounded, samples=SCALARS + ((0.5, 2),))
inactive("np.floor", "np.ceil", "np.round", "np.trunc", kind=broadcast, samples=ARRAYS)   # ints stay ints
inactive("np.rint", kind=float_broadcast, samples=ARRAYS)
inactive("np.sign", kind=broadcast, samples=ARRAYS)
inactive("op://", kind=broadcast)
inactive("bool", kind=python_bool, samples=SCALARS)

# numba compiles neither math.exp2 nor math.cbrt: generated code calls numpy's, which it does.
for _name in ("exp2", "cbrt"):
    if hasattr(math, _name):
        alias(getattr(math, _name), "np." + _name)
